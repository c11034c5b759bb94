"""PairView: two columns of rows that stay aligned, each side wrapped to its half (nothing is cut).

Row ``i`` shows ``left[i]`` beside ``right[i]``; a row is as tall as its taller side. Only the rows on
screen are rendered (line API), so two 5,000-turn transcripts cost what the screen shows.
"""

from __future__ import annotations

import bisect
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

SEP = Style(color="#666666")
ZEBRA = Style(bgcolor="grey11")


class PairView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("down,j", "scroll_down", show=False), Binding("up,k", "scroll_up", show=False),
        Binding("pagedown,space", "page_down", show=False), Binding("pageup", "page_up", show=False),
        Binding("home", "scroll_home", show=False), Binding("end", "scroll_end", show=False),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.rows: list[tuple[Text | None, Text | None]] = []
        self._width = -1
        self._offsets: list[int] = [0]
        self._cache: dict[int, list[Strip]] = {}

    def set_rows(self, rows: list[tuple[Text | None, Text | None]]) -> None:
        self.rows = rows
        self._width = -1
        self._layout()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def _half(self) -> int:
        return max(8, (self.size.width - 3) // 2)

    def _wrap(self, t: Text | None, width: int) -> list[Text]:
        if t is None:
            return [Text("")]
        return list(t.wrap(self.app.console, width, overflow="fold")) or [Text("")]

    def _layout(self) -> None:
        width = self.size.width
        if width == self._width or width <= 0:
            return
        self._width = width
        self._cache.clear()
        half = self._half()
        offsets = [0]
        for left, right in self.rows:
            h = max(len(self._wrap(left, half)), len(self._wrap(right, self.size.width - 3 - half)))
            offsets.append(offsets[-1] + h)
        self._offsets = offsets
        self.virtual_size = Size(self.scrollable_content_region.width, offsets[-1])

    def on_resize(self) -> None:
        self._layout()

    def _strips(self, i: int) -> list[Strip]:
        cached = self._cache.get(i)
        if cached is not None:
            return cached
        width = self.size.width
        half = self._half()
        rest = width - 3 - half
        left, right = self.rows[i]
        lw, rw = self._wrap(left, half), self._wrap(right, rest)
        base = ZEBRA if i % 2 else Style()
        out = []
        console = self.app.console
        for k in range(max(len(lw), len(rw))):
            segs: list[Segment] = []
            for part, w in ((lw[k] if k < len(lw) else Text(""), half), (rw[k] if k < len(rw) else Text(""), rest)):
                if segs:
                    segs.append(Segment(" │ ", SEP + base))
                own = console.get_style(part.style) if part.style else Style()
                segs.extend(Segment(s.text, base + own + s.style if s.style else base + own)
                            for s in part.render(console) if s.text and s.text != "\n")
                segs.append(Segment(" " * max(0, w - part.cell_len), base))
            out.append(Strip(segs).crop(0, width))
        self._cache[i] = out
        return out

    def render_line(self, y: int) -> Strip:
        self._layout()
        line = int(self.scroll_offset.y) + y
        if not self.rows or line >= self._offsets[-1]:
            return Strip.blank(self.size.width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        i = bisect.bisect_right(self._offsets, line) - 1
        strips = self._strips(i)
        k = line - self._offsets[i]
        return strips[k] if k < len(strips) else Strip.blank(self.size.width, Style())  # (a style: NO_COLOR's monochrome filter reads it)

    def plain(self) -> str:
        """Everything shown, as text (tests)."""
        self._layout()
        return "\n".join(s.text.rstrip() for i in range(len(self.rows)) for s in self._strips(i))
