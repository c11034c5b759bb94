"""The README's Performance table is the benchmark's JSON rendered (tests/bench/readme_table.py), never
typed by hand: after a benchmark run, the table must be regenerated from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_performance_table_matches_the_bench_json():
    script = ROOT / "tests" / "bench" / "readme_table.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
