"""SVG snapshots of every main screen at 120x40 and 80x24 (pytest-textual-snapshot); the prompt pane
and the key help at 80x24, where they are the tightest (120x40 of both: scripts/screenshots.py).

Update after an intended change with: python -m pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from showcase import SCENES, fixed_run_ids, make_app


@pytest.fixture(autouse=True)
def _fixed_run_ids(monkeypatch):
    from convai_tui.services import runs

    monkeypatch.setattr(runs, "new_run_id", fixed_run_ids())

WIDE, COMPACT = (120, 40), (80, 24)
CASES = [(scene, size) for scene in ("main", "transcript", "simulation", "tests", "diff") for size in (WIDE, COMPACT)]
CASES += [("prompt", COMPACT), ("help", COMPACT)]


@pytest.mark.parametrize("scene,size", CASES, ids=[f"{s}-{w}x{h}" for s, (w, h) in CASES])
def test_screen_snapshot(snap_compare, scene, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=SCENES[scene])
