"""VirtualTable: an append-friendly table for very long lists (tens of thousands of rows).

Rows are stored as pre-rendered cell segments; appending a page is O(page), rendering is
O(visible rows) with a per-row strip cache, updating one cell invalidates one row. Row
cursor, Enter to select, mouse click, and a ``NeedMore`` message when the viewport or the
cursor gets near the end (for lazy paging).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

HEADER = Style(bold=True, bgcolor="grey23")
ZEBRA = Style(bgcolor="grey11")
CURSOR = Style(bgcolor="dodger_blue3", bold=True)
CURSOR_BLUR = Style(bgcolor="grey35")
PREFETCH_ROWS = 30


@dataclass
class Column:
    key: str
    title: str
    width: int | None = None  # None: takes the remaining width


class VirtualTable(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("home,ctrl+home", "move(-100000000)", show=False),
        Binding("end,ctrl+end", "move(100000000)", show=False),
        Binding("enter", "select", "Open", show=False, tooltip="Open the highlighted row"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class NeedMore(Message):
        pass

    class RowMessage(Message):
        def __init__(self, table: "VirtualTable", row: int, key: str) -> None:
            super().__init__()
            self.table, self.row, self.key = table, row, key

        @property
        def control(self) -> "VirtualTable":
            return self.table

    class Highlighted(RowMessage):
        """The cursor moved to a row."""

    class Selected(RowMessage):
        """Enter or a double click on a row."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.columns: list[Column] = []
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self._cells: list[list[Text]] = []
        self._cache: dict[int, Strip] = {}
        self._widths: list[int] = []

    # ------------------------------------------------------------------ data
    @property
    def row_count(self) -> int:
        return len(self.keys)

    def set_columns(self, columns: Iterable[Column]) -> None:
        self.columns = list(columns)
        self.clear()

    def clear(self) -> None:
        self.keys, self.index, self._cells = [], {}, []
        self._cache.clear()
        self.cursor_row = 0
        self._resize_virtual()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def add_rows(self, rows: Iterable[tuple[str, list[Text | str]]]) -> int:
        """Append rows (key, cells); rows whose key is already present are skipped."""
        added = 0
        for key, cells in rows:
            if key in self.index:
                continue
            self.index[key] = len(self.keys)
            self.keys.append(key)
            self._cells.append([c if isinstance(c, Text) else Text(c) for c in cells])
            added += 1
        if added:
            self._resize_virtual()
            self.refresh()
        return added

    def update_cell(self, key: str, column: str, value: Text | str) -> None:
        i = self.index.get(key)
        col = next((n for n, c in enumerate(self.columns) if c.key == column), None)
        if i is None or col is None:
            return
        self._cells[i][col] = value if isinstance(value, Text) else Text(value)
        self._cache.pop(i, None)
        self.refresh()

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.keys) + 1)

    def on_resize(self) -> None:
        self._cache.clear()
        self._widths = []
        self._resize_virtual()

    # ------------------------------------------------------------------ rendering
    def _col_widths(self) -> list[int]:
        if self._widths:
            return self._widths
        fixed = sum(c.width or 0 for c in self.columns) + len(self.columns)  # 1 cell gap each
        flex = [c for c in self.columns if c.width is None]
        room = max(8, self.scrollable_content_region.width - fixed - 1)  # left of the scrollbar
        self._widths = [c.width if c.width is not None else max(8, room // max(1, len(flex))) for c in self.columns]
        return self._widths

    def _fit(self, text: Text, width: int, base: Style) -> list[Segment]:
        t = text
        if cell_len(t.plain) > width:
            t = text.copy()
            t.truncate(width, overflow="ellipsis")
        console = self.app.console
        own = console.get_style(t.style) if t.style else Style()  # render() leaves the Text's own style out
        segs = [Segment(seg.text, base + own + seg.style if seg.style else base + own)
                for seg in t.render(console) if seg.text and seg.text != "\n"]
        used = cell_len(t.plain)
        if used < width:
            segs.append(Segment(" " * (width - used), base))
        return segs

    def _row_strip(self, i: int, width: int) -> Strip:
        base = ZEBRA if i % 2 else Style()
        if i == self.cursor_row:
            base = CURSOR if self.has_focus else CURSOR_BLUR
        segs: list[Segment] = [Segment(" ", base)]
        for cell, w in zip(self._cells[i], self._col_widths()):
            segs.extend(self._fit(cell, w, base))
            segs.append(Segment(" ", base))
        return Strip(segs).extend_cell_length(width, base).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            segs = [Segment(" ", HEADER)]
            for c, w in zip(self.columns, self._col_widths()):
                segs.append(Segment(c.title[:w].ljust(w) + " ", HEADER))
            return Strip(segs).extend_cell_length(width, HEADER).crop(0, width)
        i = int(self.scroll_offset.y) + y - 1
        if i >= len(self.keys):
            return Strip.blank(width)
        strip = self._cache.get(i)
        if strip is None:
            strip = self._row_strip(i, width)
            self._cache[i] = strip
        return strip

    # ------------------------------------------------------------------ cursor and paging
    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.keys and self.max_scroll_y - new < PREFETCH_ROWS:
            self.post_message(self.NeedMore())

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._cache.pop(old, None)
        self._cache.pop(new, None)
        if not self.keys:
            return
        top = int(self.scroll_offset.y)
        h = max(1, self.size.height - 1)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + h:
            self.scroll_to(y=new - h + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, new, self.keys[new]))
        if new >= len(self.keys) - PREFETCH_ROWS:
            self.post_message(self.NeedMore())

    def move_cursor(self, row: int) -> None:
        if self.keys:
            self.cursor_row = max(0, min(len(self.keys) - 1, row))

    def action_move(self, d: int) -> None:
        self.move_cursor(self.cursor_row + d)

    def action_page(self, d: int) -> None:
        self.move_cursor(self.cursor_row + d * max(1, self.size.height - 2))

    def action_select(self) -> None:
        if self.keys:
            self.post_message(self.Selected(self, self.cursor_row, self.keys[self.cursor_row]))

    def on_click(self, event: Click) -> None:
        if event.y <= 0:
            return
        i = int(self.scroll_offset.y) + event.y - 1
        if 0 <= i < len(self.keys):
            self.cursor_row = i
            if event.chain >= 2:
                self.action_select()

    def on_focus(self) -> None:
        self._cache.pop(self.cursor_row, None)
        self.refresh()

    def on_blur(self) -> None:
        self._cache.pop(self.cursor_row, None)
        self.refresh()
