"""Import helpers that keep start-up light."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def without_httpx_cli() -> Iterator[None]:
    """Import httpx without its optional command-line client.

    ``httpx/__init__`` tries ``from ._main import main`` and keeps it whenever click, pygments
    and rich are installed, as they are here (beside uvicorn and Textual). That module imports
    click, ``pygments.lexers``, ``rich.syntax`` and ``rich.progress``: 15-25 ms of every start-up
    for a CLI this program never runs. While httpx is first imported, ``httpx._main`` is marked
    missing, so httpx takes its own fallback; the mark is lifted right after, so an explicit
    ``import httpx._main`` later still works. Does nothing if httpx is already imported."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        yield
        return
    sys.modules["httpx._main"] = None  # type: ignore[assignment]  # "import fails": httpx's own fallback
    try:
        yield
    finally:
        if sys.modules.get("httpx._main", False) is None:
            del sys.modules["httpx._main"]
