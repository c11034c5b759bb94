"""Start-up marks for the benchmark (tests/bench/run.py breaks "first rows" down with them).

With ``CONVAI_TUI_TIMELINE=FILE`` in the environment, each ``mark(name)`` appends
``<unix time> <process CPU ms> <name>`` to FILE (the CPU time is steadier than the wall clock
on a busy machine); without it, ``mark`` does nothing. Marks carry phase names only,
never data from the API or the configuration.
"""

from __future__ import annotations

import os
import time

_FILE = os.environ.get("CONVAI_TUI_TIMELINE") or None


def mark(name: str) -> None:
    if _FILE is None:
        return
    with open(_FILE, "a", encoding="utf-8") as f:
        f.write(f"{time.time():.6f} {time.process_time() * 1000:.1f} {name}\n")
