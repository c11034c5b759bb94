"""DiffView: two prompt versions side by side, changed words highlighted.

A line-API ScrollView that renders both columns in one widget, so the two sides can never scroll
apart. Long lines wrap on both sides in lockstep: a row is as tall as its taller side, and the
changed-word highlights follow the text onto its wrapped lines (nothing is cut: a change at the
end of a long line is on screen). Only the visible rows are ever rendered, and a row's height
costs one length check when it fits (most do): a 10,000-line diff costs what the screen shows.
"""

from __future__ import annotations

import bisect
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...textutil import safe
from ...workspace.diff import Row, SideBySide
from .wrap import line_count, wrap_spans

NO_W = 6
SEP_W = 3
STYLES = {
    "num": Style(dim=True),
    "del": Style(bgcolor="#3c1f22"),
    "ins": Style(bgcolor="#1f3a24"),
    "del_word": Style(bgcolor="#8a2d35", bold=True),
    "ins_word": Style(bgcolor="#2d7a3e", bold=True),
    "gap": Style(bgcolor="#262626"),
    "sep": Style(color="#666666"),
    "current": Style(color="black", bgcolor="yellow", bold=True),
}
MARK = {"equal": " ", "insert": ">", "delete": "<", "replace": "|"}


def _shown(text: str) -> tuple[str, list[int] | None]:
    """The text as shown (control characters made visible, tabs expanded) and, when that changed
    its length, where each original character starts in it (so word spans still land right)."""
    shown = safe(text)
    if len(shown) == len(text):
        return shown, None
    starts, pos = [], 0
    for ch in text:
        starts.append(pos)
        pos += len(safe(ch))
    starts.append(pos)
    return shown, starts


class DiffView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("n,j", "next_change", "Next change", tooltip="Next change"),
        Binding("p,k", "prev_change", "Prev change", tooltip="Previous change"),
        Binding("down", "scroll_down", show=False),
        Binding("up", "scroll_up", show=False),
        Binding("pagedown,space", "page_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("home", "scroll_home", show=False),
        Binding("end", "scroll_end", show=False),
    ]
    DEFAULT_CSS = """
    DiffView { scrollbar-gutter: stable; overflow-x: hidden; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.sbs: SideBySide = SideBySide([], [])
        self.current_hunk = -1
        self._offsets: list[int] = [0]  # first screen line of each row (+ total at the end)
        self._width = -1

    # ------------------------------------------------------------------ layout
    def set_diff(self, sbs: SideBySide) -> None:
        self.sbs = sbs
        self.current_hunk = -1
        self._width = -1
        self._layout()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def _halves(self) -> tuple[int, int]:
        """Text widths (cells) of the left and right columns."""
        width = self._width
        half = (width - SEP_W) // 2
        return max(1, half - NO_W), max(1, width - SEP_W - half - NO_W)

    def _row_height(self, r: Row, wl: int, wr: int) -> int:
        left, right = r.left, r.right
        if len(left) <= wl and len(right) <= wr and left.isascii() and right.isascii() \
                and left.isprintable() and right.isprintable():
            return 1
        return max(line_count(safe(left), wl), line_count(safe(right), wr))

    def _layout(self) -> None:
        width = self.scrollable_content_region.width
        if width == self._width:
            return
        if width <= 0 or not self.is_mounted:
            # Not laid out yet: one line a row until the real width is known. Wrapping 10,000 rows for a
            # width of 0 (every character a line) took seconds before the first frame of a long diff.
            self._width = -1
            self._offsets = list(range(len(self.sbs.rows) + 1))
            self.virtual_size = Size(max(0, width), len(self.sbs.rows))
            return
        self._width = width
        wl, wr = self._halves()
        offsets = [0]
        total = 0
        for r in self.sbs.rows:
            total += self._row_height(r, wl, wr)
            offsets.append(total)
        self._offsets = offsets
        self.virtual_size = Size(width, total)

    def on_resize(self) -> None:
        self._layout()

    def row_line(self, row: int) -> int:
        """The first screen line of a row."""
        self._layout()
        return self._offsets[row]

    # ------------------------------------------------------------------ rendering
    def _half(self, no: int | None, text: str, spans: list[tuple[int, int]], k: int, width: int, kind: str,
              side: str) -> list[Segment]:
        """Line ``k`` of one side of a row, ``width`` cells with the line number."""
        body_w = max(1, width - NO_W)
        num = (f"{no:>{NO_W - 1}} " if no is not None and k == 0 else " " * NO_W)
        base = STYLES["gap"] if no is None else (STYLES["del"] if side == "l" and kind in ("delete", "replace")
                                                else STYLES["ins"] if side == "r" and kind in ("insert", "replace")
                                                else Style())
        word = STYLES["del_word"] if side == "l" else STYLES["ins_word"]
        shown, starts = _shown(text)
        pieces = wrap_spans(shown, body_w)
        body: list[Segment] = []
        if k < len(pieces):
            lo, hi = pieces[k]
            hl: list[tuple[int, int]] = []
            if kind == "replace":
                for a, b in spans:  # spans index the raw text: move them onto the shown text
                    if starts is not None:
                        a, b = starts[min(a, len(text))], starts[min(b, len(text))]
                    hl.append((a, b))
            cuts = sorted({lo, hi, *(min(hi, max(lo, x)) for ab in hl for x in ab)})
            for a, b in zip(cuts, cuts[1:]):
                changed = any(s <= a and b <= e for s, e in hl)
                body.append(Segment(shown[a:b], base + word if changed else base))
        body_strip = Strip(body).crop(0, body_w).extend_cell_length(body_w, base)
        return [Segment(num, STYLES["num"]), *body_strip]

    def render_line(self, y: int) -> Strip:
        self._layout()
        line = int(self.scroll_offset.y) + y
        width = self._width
        rows = self.sbs.rows
        if not rows or line >= self._offsets[-1] or width <= 0:
            return Strip.blank(max(0, width), Style())  # (a style: NO_COLOR's monochrome filter reads it)
        idx = bisect.bisect_right(self._offsets, line) - 1
        k = line - self._offsets[idx]
        r: Row = rows[idx]
        half = (width - SEP_W) // 2
        current = self._current_range()
        mark = MARK[r.kind] if k == 0 else " "
        sep_style = STYLES["current"] if current[0] <= idx < current[1] else STYLES["sep"]
        segs = self._half(r.left_no, r.left, r.left_spans, k, half, r.kind, "l")
        segs.append(Segment(f" {mark} ", sep_style))
        segs.extend(self._half(r.right_no, r.right, r.right_spans, k, width - SEP_W - half, r.kind, "r"))
        return Strip(segs).crop(0, width)

    # ------------------------------------------------------------------ changes
    def hunk_range(self, i: int) -> tuple[int, int]:
        """Rows [start, end) of change ``i``."""
        rows = self.sbs.rows
        start = self.sbs.hunks[i]
        end = start
        while end < len(rows) and rows[end].kind != "equal":
            end += 1
        return start, max(end, start + 1)

    def _current_range(self) -> tuple[int, int]:
        if self.current_hunk < 0 or not self.sbs.hunks:
            return (-1, -1)
        return self.hunk_range(self.current_hunk)

    def hunk_text(self, i: int) -> str:
        """Change ``i`` as unified-diff lines (what copying a change copies)."""
        start, end = self.hunk_range(i)
        rows = self.sbs.rows[start:end]
        lines = [f"-{r.left}" for r in rows if r.left_no is not None and r.kind != "equal"]
        lines += [f"+{r.right}" for r in rows if r.right_no is not None and r.kind != "equal"]
        first = next((r.left_no for r in rows if r.left_no is not None), None)
        head = f"@@ change {i + 1}/{len(self.sbs.hunks)}" + (f", line {first}" if first else "") + " @@"
        return "\n".join([head, *lines])

    def _goto_hunk(self, i: int) -> None:
        if not self.sbs.hunks:
            self.app.notify("No differences.")
            return
        self.current_hunk = i % len(self.sbs.hunks)
        start, end = self.hunk_range(self.current_hunk)
        self._layout()
        top, bottom = self._offsets[start], self._offsets[end]
        height = self.scrollable_content_region.height
        # the whole change in view when it fits, with a little context above
        y = top - 3 if bottom - top + 3 <= height else top
        self.scroll_to(0, max(0, y), animate=False)
        self.refresh()
        self.post_message(HunkChanged())

    def action_next_change(self) -> None:
        self._goto_hunk(self.current_hunk + 1)

    def action_prev_change(self) -> None:
        self._goto_hunk(self.current_hunk - 1 if self.current_hunk >= 0 else -1)


class HunkChanged(Message):
    """The diff view moved to another change."""
