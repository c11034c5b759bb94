"""Word wrap by terminal cells that never loses a character.

``wrap_spans`` returns where each line of a paragraph starts and ends (offsets into the text), so
the lines put back together are the text, exactly: a caller can map anything it knows by offset
(a word highlighted in a diff, a search hit) onto the wrapped lines. The whitespace where a line
breaks stays at the end of that line (it is invisible there, and the next line starts with the
next word); only the visible part of a line (without trailing whitespace) has to fit the width.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

_TOKENS = re.compile(r"\s+|\S+")


def _fits_fast(text: str, width: int) -> bool:
    """True when the text certainly fits: short, plain ASCII (one cell a character)."""
    return len(text) <= width and text.isascii() and text.isprintable()


def wrap_spans(text: str, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap of one paragraph (no newlines) into ``[(start, end), ...]`` covering the text.

    ``text[start:end]`` for consecutive spans concatenate to ``text``; each one's visible part fits
    ``width`` cells, except a single character wider than the width (it gets a line to itself).
    Words longer than the width are split.
    """
    width = max(1, width)
    if _fits_fast(text, width) or cell_len(text) <= width:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = 0  # where the current line starts
    used = 0  # cells on the current line, trailing whitespace included
    for m in _TOKENS.finditer(text):
        tok = m.group(0)
        pos = m.start()
        if tok[0].isspace():
            used += cell_len(tok)  # trailing whitespace may run past the width: it is not visible
            continue
        wl = cell_len(tok)
        if used + wl <= width:
            used += wl
            continue
        if wl <= width:
            spans.append((start, pos))  # break before this word
            start, used = pos, wl
            continue
        # A word longer than any line: split it, filling the current line first.
        i, end = pos, m.end()
        while i < end:
            j, cells = i, used
            while j < end:
                c = cell_len(text[j])
                if cells + c > width and (j > i or used > 0 or start < i):
                    break
                cells += c
                j += 1
            if j == end:
                used = cells
                break
            spans.append((start, j))
            start, used, i = j, 0, j
    spans.append((start, len(text)))
    return spans


def wrap(text: str, width: int) -> list[str]:
    """The lines of ``text`` wrapped to ``width`` cells; an explicit newline always starts a line.
    Nothing is lost: ``"".join(wrap(text, w)) == text.replace("\\n", "")`` for any text and width."""
    out: list[str] = []
    for para in text.split("\n"):
        out.extend(para[s:e] for s, e in wrap_spans(para, width))
    return out


def line_count(text: str, width: int) -> int:
    """``len(wrap(text, width))``, cheaply for the common case (one short plain line)."""
    if "\n" not in text and _fits_fast(text, width):
        return 1
    return sum(len(wrap_spans(p, width)) for p in text.split("\n"))
