"""Make text from outside safe to show on a terminal: one boundary for the CLI and the TUI.

Every string that came from the API (or from a workspace file, or a server's error) goes
through :func:`safe` (multi-line text) or :func:`one_line` (a cell, a title, a status line)
before it is written to a terminal. Rich markup is never interpreted because callers wrap the
result in ``rich.text.Text`` (or pass ``markup=False``); this module removes everything else
that could act on the terminal or disguise the text, by showing it visibly:

=========================================  =============================================
what                                       shown as
=========================================  =============================================
ESC (starts CSI/OSC sequences: colours,    ``␛`` (the rest of the sequence stays as
clear screen, OSC 52 clipboard, OSC 8)     plain, harmless text: ``␛]52;c;...``)
other C0 controls, DEL (BEL, BS, NUL...)   their control picture: ``␇`` ``␈`` ``␀`` ``␡``
CR (a lone one; CRLF becomes LF)           ``␍``
C1 controls U+0080-U+009F (CSI, NEL...)    ``<U+009B>``
bidi embeddings/overrides/isolates/marks   ``<U+202E>`` (they reorder what you read)
other invisible format characters (zero-   ``<U+200B>`` (they hide text: "pay<U+200B>pal",
width space, word joiner, BOM, soft         Unicode tag characters smuggling hidden text)
hyphen, tag characters ...)
U+2028 / U+2029 line/paragraph separators  a newline in :func:`safe`, ``⏎`` in :func:`one_line`
a lone surrogate (invalid Unicode)         ``�`` (U+FFFD): printing it can never raise
tab                                        spaces
=========================================  =============================================

ZWJ and ZWNJ (U+200D, U+200C) are kept: emoji sequences and several scripts need them.

Contract (property-tested in ``tests/test_hardening_props.py``): the result never contains a
control character other than ``\\n`` (and never ``\\n`` from :func:`one_line`), never a
surrogate, never one of the characters above; and both functions are stable:
``safe(safe(x)) == safe(x)``, ``one_line(one_line(x)) == one_line(x)``, so a caller may
sanitise text that was already sanitised (an error message, say) without changing it.
They are on the hot path of every rendered cell: text with nothing to fix costs one
``str.isprintable()`` call.
"""

from __future__ import annotations

import re

# Everything that must not reach a terminal as is, except "\n" (handled by the callers below).
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028\u2029\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f\U0001d173-\U0001d17a]"
)
_NAMED = {"\x1b": "␛", "\r": "␍", "\x7f": "␡", "\u2028": "\n", "\u2029": "\n"}
_CACHE: dict[str, str] = {}
NEWLINE_MARK = " ⏎ "


def _mark(ch: str) -> str:
    rep = _CACHE.get(ch)
    if rep is None:
        o = ord(ch)
        if ch in _NAMED:
            rep = _NAMED[ch]
        elif o < 0x20:
            rep = chr(0x2400 + o)  # the control picture: ␀ ␇ ␈ ...
        elif 0xD800 <= o <= 0xDFFF:
            rep = "\ufffd"
        else:
            rep = f"<U+{o:04X}>"
        if len(_CACHE) < 4096:
            _CACHE[ch] = rep
    return rep


def _sub(m: re.Match[str]) -> str:
    return _mark(m.group(0))


def _clean(s: str, tabs: int) -> str:
    """The work behind :func:`safe`, for a string that is not all printable."""
    if "\r\n" in s:
        s = s.replace("\r\n", "\n")
    if tabs and "\t" in s:
        s = s.replace("\t", " " * tabs)
    return _UNSAFE.sub(_sub, s)


def _as_str(text: object) -> str:
    if text is None:
        return ""
    if type(text) is str:
        return text
    try:
        return str(text)
    except Exception:  # a hostile __str__ must not take the UI down
        return f"<{type(text).__name__}>"


def safe(text: object, *, tabs: int = 4, limit: int | None = None) -> str:
    """``text`` made safe for a terminal, line breaks kept (see the module's table).

    ``limit``: at most this many characters, the last one ``…`` when cut (counted after
    the marks are made, so the result is never longer than ``limit``)."""
    s = _as_str(text)
    if limit is not None and len(s) > 2 * limit + 8:
        s = s[: 2 * limit + 8]  # do not clean megabytes to show a hundred characters
        cut = True
    else:
        cut = False
    if not s.isprintable():
        s = _clean(s, tabs)  # tabs=0: a tab is shown as ␉
    if limit is not None and (cut or len(s) > limit):
        s = s[: max(0, limit - 1)] + "…"
    return s


def one_line(text: object, limit: int = 120) -> str:
    """Safe, on one line whatever the text (a newline is shown as ``⏎``), at most ``limit``
    characters: for table cells, titles and status lines."""
    s = _as_str(text)
    if len(s) > 2 * limit + 8:
        s = s[: 2 * limit + 8]
        cut = True
    else:
        cut = False
    if not s.isprintable():
        s = _clean(s, 4)
        if "\n" in s:
            s = s.replace("\n", NEWLINE_MARK)
    if cut or len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


def no_surrogates(s: str) -> str:
    """``s`` with every lone surrogate replaced by U+FFFD, so it can be encoded as UTF-8."""
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)


_SURROGATE = re.compile("[\ud800-\udfff]")
