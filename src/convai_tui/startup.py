"""The garbage collector during start-up.

Start-up creates about 100,000 long-lived objects (modules, classes, pydantic schemas, the
widget tree). With the default thresholds the cyclic collector runs about 130 times while they
are created, and every full collection walks all of them again: ~15% of the import time,
measured; even one young collection over 100,000 of them is a 19 ms pause. From ``begin()``
(the top of ``main``) the young generation is only collected every 1,000,000 net allocations:
none during a normal start-up, while a start-up that allocates far more (a large in-process
demo data set) is still collected. ``end()`` (once the first rows are on screen, or right after
argument parsing for a headless command) moves everything alive out of the collector's scans
with ``gc.freeze()`` and restores the thresholds; objects made after that are collected as
usual. Both are idempotent; ``end()`` without ``begin()`` only freezes.
"""

from __future__ import annotations

import gc

STARTUP_THRESHOLD = (1_000_000, 50, 100)
_saved: tuple[int, int, int] | None = None


def begin() -> None:
    global _saved
    if _saved is None:
        _saved = gc.get_threshold()
        gc.set_threshold(*STARTUP_THRESHOLD)


def end(*, freeze: bool = True) -> None:
    global _saved
    if freeze:
        gc.freeze()
    if _saved is not None:
        gc.set_threshold(*_saved)
        _saved = None


def active() -> bool:
    return _saved is not None
