"""SVG snapshots of every main screen at 120x40 and 80x24 (pytest-textual-snapshot).

Update after an intended change with: python -m pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from showcase import SCENES, make_app

SIZES = [(120, 40), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", ["main", "prompt", "transcript", "simulation", "tests", "diff", "help"])
def test_screen_snapshot(snap_compare, scene, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=SCENES[scene])
