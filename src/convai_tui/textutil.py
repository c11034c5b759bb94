"""Make text from the API safe to show: no control sequences reach the terminal.

Rich markup is never interpreted because callers wrap results in ``rich.text.Text``
(or pass ``markup=False``); this module removes the other danger, control characters
(ANSI escapes, C1 controls, carriage returns), by showing them as visible escapes.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    return {"\x1b": "␛", "\r": "␍"}.get(ch, f"\\x{ord(ch):02x}")


def safe(text: object, *, tabs: int = 4, limit: int | None = None) -> str:
    """The text with control characters made visible and tabs expanded."""
    s = "" if text is None else str(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    if tabs:
        s = s.replace("\t", " " * tabs)
    return _CONTROL.sub(_escape, s)


def one_line(text: object, limit: int = 120) -> str:
    """Single-line, safe, truncated: for table cells and titles."""
    s = safe(text, limit=None).replace("\n", " ⏎ ")
    return s if len(s) <= limit else s[: limit - 1] + "…"
