"""VirtualTable: an append-friendly table for very long lists (hundreds of thousands of rows).

Rows are stored as pre-rendered cells, in blocks (one per ``add_rows`` call: a page); appending a
page is O(page), rendering is O(visible rows) with a bounded per-row strip cache, updating one cell
invalidates one row. Row cursor, Enter to select, mouse click, and a ``NeedMore`` message when the
viewport or the cursor gets near the end (for lazy paging).

**Bounded memory** (``max_loaded_rows``): a block added with a ``token`` (what it takes to fetch it
again: the page's cursor) may be evicted when more than ``max_loaded_rows`` rows are held, farthest
from the viewport and the cursor first (never the first block). An evicted block keeps only its
row count and token, so the row count, the row indices and the scrollbar stay exact; its rows show
as placeholders and the table posts ``NeedRows`` (block number, token) once when one of them comes
into view or under the cursor. The owner fetches that page again and hands it to
:meth:`VirtualTable.fill_block` (if it now holds a different number of rows, the rows after it move
and everything stays consistent).

**Stale rows** (``stale = True``): rows shown before the fresh data arrives (a display cache) are
drawn dimmed with a ``cached`` tag in the header; :meth:`VirtualTable.replace_rows` swaps them for
the fresh rows, keeping the cursor on the same row (by key) when it is still there.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

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
STALE = Style(dim=True, italic=True)
STALE_TAG = Style(bold=True, color="black", bgcolor="yellow")
PLACEHOLDER = Style(dim=True)
PREFETCH_ROWS = 30
NO_TOKEN: Any = object()  # a block that cannot be fetched again: never evicted


@dataclass
class Column:
    key: str
    title: str
    width: int | None = None  # None: takes the remaining width


class _Block:
    __slots__ = ("start", "count", "keys", "cells", "token", "requested")

    def __init__(self, start: int, keys: list[str], cells: list[list[Text]], token: Any) -> None:
        self.start = start
        self.count = len(keys)
        self.keys: list[str] | None = keys
        self.cells: list[list[Text]] | None = cells
        self.token = token
        self.requested = False

    @property
    def loaded(self) -> bool:
        return self.keys is not None


class _Keys(Sequence[str]):
    """The table's keys by row index (an evicted row's key is ``""``: not known until refetched)."""

    def __init__(self, table: "VirtualTable") -> None:
        self._t = table

    def __len__(self) -> int:
        return self._t.row_count

    def __getitem__(self, i: Any) -> Any:
        n = self._t.row_count
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._t.key_at(i) or ""

    def __iter__(self) -> Iterator[str]:
        for b in self._t._blocks:
            if b.keys is not None:
                yield from b.keys
            else:
                yield from ("" for _ in range(b.count))

    def __contains__(self, key: object) -> bool:
        return key in self._t.index


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

    class NeedRows(Message):
        """An evicted block came into view (or under the cursor): fetch it again (see ``fill_block``)."""

        def __init__(self, table: "VirtualTable", block: int, token: Any) -> None:
            super().__init__()
            self.table, self.block, self.token = table, block, token

        @property
        def control(self) -> "VirtualTable":
            return self.table

    class RowMessage(Message):
        def __init__(self, table: "VirtualTable", row: int, key: str) -> None:
            super().__init__()
            self.table, self.row, self.key = table, row, key

        @property
        def control(self) -> "VirtualTable":
            return self.table

    class Highlighted(RowMessage):
        """The cursor moved to a row (its key is ``""`` while the row is evicted)."""

    class Selected(RowMessage):
        """Enter or a double click on a row."""

    def __init__(self, *, max_loaded_rows: int | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.columns: list[Column] = []
        self.index: dict[str, int] = {}  # key -> row, for the rows held
        self.max_loaded_rows = max_loaded_rows  # None: never evict
        self._blocks: list[_Block] = []
        self._starts: list[int] = []
        self._rows = 0
        self._loaded = 0
        self._cache: dict[int, Strip] = {}
        self._widths: list[int] = []
        self._stale = False

    # ------------------------------------------------------------------ data
    @property
    def row_count(self) -> int:
        return self._rows

    @property
    def loaded_rows(self) -> int:
        """Rows whose cells are held (the others are evicted)."""
        return self._loaded

    @property
    def keys(self) -> _Keys:
        return _Keys(self)

    @property
    def block_count(self) -> int:
        return len(self._blocks)

    def block_loaded(self, block: int) -> bool:
        return self._blocks[block].loaded

    def block_of_row(self, row: int) -> int:
        return bisect.bisect_right(self._starts, row) - 1

    def key_at(self, row: int) -> str | None:
        """The key of row ``row``; None if it is evicted (or out of range)."""
        if not 0 <= row < self._rows:
            return None
        b = self._blocks[bisect.bisect_right(self._starts, row) - 1]
        return b.keys[row - b.start] if b.keys is not None else None

    def cells_at(self, row: int) -> list[Text] | None:
        """The cells of row ``row`` as held; None if it is evicted (or out of range)."""
        if not 0 <= row < self._rows:
            return None
        b = self._blocks[bisect.bisect_right(self._starts, row) - 1]
        return b.cells[row - b.start] if b.cells is not None else None

    @property
    def stale(self) -> bool:
        return self._stale

    @stale.setter
    def stale(self, value: bool) -> None:
        if value != self._stale:
            self._stale = value
            self._cache.clear()
            self.refresh()

    def set_columns(self, columns: Iterable[Column]) -> None:
        self.columns = list(columns)
        self._widths = []
        self.clear()

    def clear(self) -> None:
        self.index = {}
        self._blocks, self._starts = [], []
        self._rows = self._loaded = 0
        self._cache.clear()
        self.cursor_row = 0
        self._resize_virtual()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def _rows_of(self, rows: Iterable[tuple[str, list[Text | str]]]) -> tuple[list[str], list[list[Text]]]:
        keys: list[str] = []
        cells: list[list[Text]] = []
        seen = self.index
        for key, row in rows:
            if key in seen:
                continue
            seen[key] = -1  # claimed; the row number is set by the caller
            keys.append(key)
            cells.append([c if isinstance(c, Text) else Text(c) for c in row])
        return keys, cells

    def add_rows(self, rows: Iterable[tuple[str, list[Text | str]]], *, token: Any = NO_TOKEN) -> int:
        """Append rows (key, cells) as one block; rows whose key is already held are skipped. With a
        ``token`` the block may be evicted and fetched again (see the module doc)."""
        keys, cells = self._rows_of(rows)
        if not keys:
            return 0
        start = self._rows
        for n, key in enumerate(keys):
            self.index[key] = start + n
        self._blocks.append(_Block(start, keys, cells, token))
        self._starts.append(start)
        self._rows += len(keys)
        self._loaded += len(keys)
        self._resize_virtual()
        self.refresh()
        self._evict()
        return len(keys)

    def replace_rows(self, rows: Iterable[tuple[str, list[Text | str]]], *, token: Any = NO_TOKEN) -> int:
        """All rows become ``rows`` (one block), no longer stale. The cursor stays on the row it was on
        if that key is still there (else at the same index), and the viewport keeps its offset."""
        old_key = self.key_at(self.cursor_row)
        old_cursor, old_top = self.cursor_row, int(self.scroll_offset.y)
        self.index = {}
        self._blocks, self._starts = [], []
        self._rows = self._loaded = 0
        self._cache.clear()
        self._stale = False
        added = self.add_rows(rows, token=token)
        self._resize_virtual()
        row = self.index.get(old_key or "", min(old_cursor, max(0, added - 1)))
        self.scroll_to(y=old_top, animate=False)
        self.cursor_row = row  # scrolls only if that row is now out of view
        self.refresh()
        return added

    def fill_block(self, block: int, rows: Iterable[tuple[str, list[Text | str]]]) -> int:
        """The rows of evicted block ``block``, fetched again. Returns how many it now holds."""
        if not 0 <= block < len(self._blocks):
            return 0
        b = self._blocks[block]
        b.requested = False
        if b.loaded:
            return b.count
        keys, cells = self._rows_of(rows)
        delta = len(keys) - b.count
        b.keys, b.cells, b.count = keys, cells, len(keys)
        self._loaded += len(keys)
        if delta:  # rows were added or removed on the server meanwhile: the rows after it move
            for later in self._blocks[block + 1:]:
                later.start += delta
            self._starts = [x.start for x in self._blocks]
            self._rows += delta
            self.index = {k: x.start + n for x in self._blocks if x.keys is not None for n, k in enumerate(x.keys)}
            self._cache.clear()
            self._resize_virtual()
            if self.cursor_row >= self._rows:
                self.cursor_row = max(0, self._rows - 1)
        else:
            for n, key in enumerate(keys):
                self.index[key] = b.start + n
            for i in range(b.start, b.start + b.count):
                self._cache.pop(i, None)
        self.refresh()
        self._evict()
        return b.count

    def fill_failed(self, block: int) -> None:
        """Fetching ``block`` again failed: it will be asked for again when next in view."""
        if 0 <= block < len(self._blocks):
            self._blocks[block].requested = False

    def update_cell(self, key: str, column: str, value: Text | str) -> None:
        i = self.index.get(key)
        col = next((n for n, c in enumerate(self.columns) if c.key == column), None)
        if i is None or i < 0 or col is None:
            return
        b = self._blocks[bisect.bisect_right(self._starts, i) - 1]
        if b.cells is None:
            return
        b.cells[i - b.start][col] = value if isinstance(value, Text) else Text(value)
        self._cache.pop(i, None)
        self.refresh()

    # ------------------------------------------------------------------ eviction
    def _window(self) -> tuple[int, int]:
        """The rows that matter now: the viewport and the cursor."""
        top = int(self.scroll_offset.y)
        bottom = top + max(1, self.size.height - 1)
        return min(top, self.cursor_row), max(bottom, self.cursor_row + 1)

    def _evict(self) -> None:
        limit = self.max_loaded_rows
        if limit is None or self._loaded <= limit:
            return
        lo, hi = self._window()

        def distance(b: _Block) -> int:
            end = b.start + b.count
            return 0 if end > lo and b.start < hi else (lo - end if end <= lo else b.start - hi)

        candidates = sorted((b for b in self._blocks[1:] if b.keys is not None and b.token is not NO_TOKEN),
                            key=distance, reverse=True)
        for b in candidates:
            if self._loaded <= limit or distance(b) <= PREFETCH_ROWS:
                break
            for key in b.keys or ():
                self.index.pop(key, None)
            b.keys = b.cells = None
            self._loaded -= b.count
            for i in range(b.start, b.start + b.count):
                self._cache.pop(i, None)

    def _request_missing(self, lo: int, hi: int) -> None:
        """Ask for every evicted block among rows ``lo..hi`` (once each until it arrives or fails)."""
        if self._loaded == self._rows or not self._blocks:
            return
        first = max(0, bisect.bisect_right(self._starts, max(0, lo)) - 1)
        for n in range(first, len(self._blocks)):
            b = self._blocks[n]
            if b.start >= hi:
                break
            if b.keys is None and not b.requested:
                b.requested = True
                self.post_message(self.NeedRows(self, n, b.token))

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self._rows + 1)

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
        used = cell_len(t.plain)
        if used > width:
            t = text.copy()
            t.truncate(width, overflow="ellipsis")
            used = cell_len(t.plain)
        console = self.app.console
        own = console.get_style(t.style) if t.style else Style()  # render() leaves the Text's own style out
        segs = [Segment(seg.text, base + own + seg.style if seg.style else base + own)
                for seg in t.render(console) if seg.text and seg.text != "\n"]
        if used < width:
            segs.append(Segment(" " * (width - used), base))
        return segs

    def _row_strip(self, i: int, cells: list[Text], width: int) -> Strip:
        base = ZEBRA if i % 2 else Style()
        if i == self.cursor_row:
            base = CURSOR if self.has_focus else CURSOR_BLUR
        if self._stale:
            base = base + STALE
        segs: list[Segment] = [Segment(" ", base)]
        used = 1
        for cell, w in zip(cells, self._col_widths()):
            segs.extend(self._fit(cell, w, base))  # exactly w cells
            segs.append(Segment(" ", base))
            used += w + 1
        if used < width:
            segs.append(Segment(" " * (width - used), base))
        elif used > width:
            return Strip(segs, used).crop(0, width)
        return Strip(segs, width)  # (its length is known: no measuring pass)

    def _placeholder(self, i: int, width: int) -> Strip:
        base = CURSOR_BLUR if i == self.cursor_row else (ZEBRA if i % 2 else Style())
        return Strip([Segment(" ", base), Segment("·  loading…", base + PLACEHOLDER)]).extend_cell_length(
            width, base).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            segs = [Segment(" ", HEADER)]
            for c, w in zip(self.columns, self._col_widths()):
                segs.append(Segment(c.title[:w].ljust(w) + " ", HEADER))
            strip = Strip(segs).extend_cell_length(width, HEADER).crop(0, width)
            if self._stale and width > 10:
                tag = Strip([Segment(" cached ", STALE_TAG)])
                strip = Strip.join([strip.crop(0, width - 9), tag, Strip([Segment(" ", HEADER)])])
            return strip
        top = int(self.scroll_offset.y)
        i = top + y - 1
        if i >= self._rows:
            return Strip.blank(width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        strip = self._cache.get(i)
        if strip is None:
            b = self._blocks[bisect.bisect_right(self._starts, i) - 1]
            if b.cells is None:
                self._request_missing(i, i + 1)
                return self._placeholder(i, width)
            strip = self._row_strip(i, b.cells[i - b.start], width)
            if len(self._cache) > 4 * max(1, self.size.height) + 64:  # keep only what is near the viewport
                h = max(1, self.size.height)
                self._cache = {k: v for k, v in self._cache.items() if top - h <= k <= top + 2 * h}
            self._cache[i] = strip
        return strip

    # ------------------------------------------------------------------ cursor and paging
    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._rows and self.max_scroll_y - new < PREFETCH_ROWS:
            self.post_message(self.NeedMore())
        if self._loaded != self._rows:
            top = int(new)
            self._request_missing(top - PREFETCH_ROWS, top + self.size.height + PREFETCH_ROWS)
            self._evict()

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._cache.pop(old, None)
        self._cache.pop(new, None)
        if not self._rows:
            return
        top = int(self.scroll_offset.y)
        h = max(1, self.size.height - 1)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + h:
            self.scroll_to(y=new - h + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, new, self.key_at(new) or ""))
        if new >= self._rows - PREFETCH_ROWS:
            self.post_message(self.NeedMore())
        if self.max_loaded_rows is not None:
            self._request_missing(new - PREFETCH_ROWS, new + PREFETCH_ROWS)
            self._evict()

    def move_cursor(self, row: int) -> None:
        if self._rows:
            self.cursor_row = max(0, min(self._rows - 1, row))

    def action_move(self, d: int) -> None:
        self.move_cursor(self.cursor_row + d)

    def action_page(self, d: int) -> None:
        self.move_cursor(self.cursor_row + d * max(1, self.size.height - 2))

    def action_select(self) -> None:
        key = self.key_at(self.cursor_row)
        if key:
            self.post_message(self.Selected(self, self.cursor_row, key))

    def on_click(self, event: Click) -> None:
        if event.y <= 0:
            return
        i = int(self.scroll_offset.y) + event.y - 1
        if 0 <= i < self._rows:
            self.cursor_row = i
            if event.chain >= 2:
                self.action_select()

    def on_focus(self) -> None:
        self._cache.pop(self.cursor_row, None)
        self.refresh()

    def on_blur(self) -> None:
        self._cache.pop(self.cursor_row, None)
        self.refresh()
