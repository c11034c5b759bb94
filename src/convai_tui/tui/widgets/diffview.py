"""DiffView: two prompt versions side by side, changed words highlighted.

A line-API ScrollView that renders both columns in one widget, so
the two sides can never scroll apart, and only the visible rows are ever rendered: a
10,000-line diff costs what the screen shows.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...textutil import safe
from ...workspace.diff import Row, SideBySide

NO_W = 6
STYLES = {
    "num": Style(dim=True),
    "del": Style(bgcolor="#3c1f22"),
    "ins": Style(bgcolor="#1f3a24"),
    "del_word": Style(bgcolor="#8a2d35", bold=True),
    "ins_word": Style(bgcolor="#2d7a3e", bold=True),
    "gap": Style(bgcolor="#262626"),
    "sep": Style(color="#666666"),
    "cursor": Style(reverse=True),
}


class DiffView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("n,j", "next_change", "Next change"),
        Binding("p,k", "prev_change", "Prev change"),
        Binding("down", "scroll_down", show=False),
        Binding("up", "scroll_up", show=False),
        Binding("pagedown,space", "page_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("home", "scroll_home", show=False),
        Binding("end", "scroll_end", show=False),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.sbs: SideBySide = SideBySide([], [])
        self.current_hunk = -1

    def set_diff(self, sbs: SideBySide) -> None:
        self.sbs = sbs
        self.current_hunk = -1
        self.virtual_size = Size(self.size.width or 80, len(sbs.rows))
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.sbs.rows))

    def _half(self, no: int | None, text: str, spans: list[tuple[int, int]], width: int, kind: str,
              side: str) -> list[Segment]:
        num = f"{no:>{NO_W - 1}} " if no is not None else " " * NO_W
        body_w = max(1, width - NO_W)
        shown = safe(text)
        base = STYLES["gap"] if no is None else (STYLES["del"] if side == "l" and kind in ("delete", "replace")
                                                else STYLES["ins"] if side == "r" and kind in ("insert", "replace")
                                                else Style())
        word = STYLES["del_word"] if side == "l" else STYLES["ins_word"]
        t = Text(shown[:body_w], style=base, no_wrap=True, end="")
        if kind == "replace" and len(safe(text)) == len(text):  # spans index the raw text
            for s, e in spans:
                if s < body_w:
                    t.stylize(word, s, min(e, body_w))
        t.pad_right(body_w - t.cell_len)
        t.truncate(body_w)
        segs = [Segment(num, STYLES["num"])]
        # Text.render() leaves the Text's own (background) style out: add it to every segment
        segs.extend(Segment(seg.text, base + seg.style if seg.style else base)
                    for seg in t.render(self.app.console) if seg.text != "\n")
        return segs

    def render_line(self, y: int) -> Strip:
        idx = int(self.scroll_offset.y) + y
        width = self.size.width
        if idx >= len(self.sbs.rows) or width <= 0:
            return Strip.blank(width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        r: Row = self.sbs.rows[idx]
        half = (width - 3) // 2
        mark = {"equal": " ", "insert": ">", "delete": "<", "replace": "|"}[r.kind]
        segs = self._half(r.left_no, r.left, r.left_spans, half, r.kind, "l")
        segs.append(Segment(f" {mark} ", STYLES["sep"]))
        segs.extend(self._half(r.right_no, r.right, r.right_spans, width - 3 - half, r.kind, "r"))
        return Strip(segs).crop(0, width)

    def _goto_hunk(self, i: int) -> None:
        if not self.sbs.hunks:
            self.app.notify("No differences.")
            return
        self.current_hunk = i % len(self.sbs.hunks)
        row = self.sbs.hunks[self.current_hunk]
        self.scroll_to(0, max(0, row - 3), animate=False)
        self.post_message(HunkChanged())

    def action_next_change(self) -> None:
        self._goto_hunk(self.current_hunk + 1)

    def action_prev_change(self) -> None:
        self._goto_hunk(self.current_hunk - 1 if self.current_hunk >= 0 else -1)


class HunkChanged(Message):
    """The diff view moved to another change."""
