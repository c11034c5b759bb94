"""RunGrid: a tests x runs grid built for live updates.

A line-API ScrollView: only visible rows are rendered, each row's strip is cached and
invalidated only when one of its cells changes, so a poll that flips 200 of 4,000 cells
re-renders at most the rows on screen that changed. The name/type/rate columns stay put
while the run columns scroll horizontally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...textutil import one_line

NAME_W, TYPE_W, RATE_W, CELL_W = 24, 5, 5, 3
FIXED_W = NAME_W + TYPE_W + RATE_W
ICON = {"pending": "…", "passed": "✓", "failed": "✗", "cancelled": "–", "": " "}
STYLE = {
    "pending": Style(color="yellow"), "passed": Style(color="green", bold=True), "failed": Style(color="red", bold=True),
    "cancelled": Style(dim=True), "": Style(), "?": Style(color="magenta"),
}
HEADER = Style(bold=True, reverse=False, bgcolor="grey23")
FIXED = Style(bgcolor="grey15")
CURSOR = Style(reverse=True)
DIM = Style(dim=True)


@dataclass
class GridRow:
    test_id: str
    name: str
    type: str
    cells: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0


class RunGrid(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(0,-1)", show=False), Binding("down", "move(0,1)", show=False),
        Binding("left", "move(-1,0)", show=False), Binding("right", "move(1,0)", show=False),
        Binding("pageup", "move(0,-10)", show=False), Binding("pagedown", "move(0,10)", show=False),
        Binding("home", "edge(-1)", show=False), Binding("end", "edge(1)", show=False),
        Binding("enter", "select", "Details", show=False,
                tooltip="The run's details: the agent's responses, the condition, the verdict and its rationale"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)
    cursor_col: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        def __init__(self, grid: "RunGrid", test_id: str, repeat: int) -> None:
            super().__init__()
            self.grid, self.test_id, self.repeat = grid, test_id, repeat

        @property
        def control(self) -> "RunGrid":
            return self.grid

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.rows: list[GridRow] = []
        self.index: dict[str, int] = {}
        self.repeat = 0
        self._cache: dict[int, Strip] = {}

    # ------------------------------------------------------------------ data
    def set_tests(self, tests: list[tuple[str, str, str]], repeat: int) -> None:
        """``tests``: (id, name, type). Every cell starts empty."""
        self.repeat = repeat
        self.rows = [GridRow(tid, name, kind, [""] * repeat) for tid, name, kind in tests]
        self.index = {r.test_id: i for i, r in enumerate(self.rows)}
        self._cache.clear()
        self.cursor_row = min(self.cursor_row, max(0, len(self.rows) - 1))
        self.cursor_col = min(self.cursor_col, max(0, repeat - 1))
        self._resize_virtual()
        self.refresh()

    def set_statuses(self, changes: Iterable[tuple[str, int, str]]) -> int:
        """Set many cells (a poll's worth); returns how many changed. Each changed row that is
        on screen is refreshed once, however many of its cells changed."""
        changed_rows: set[int] = set()
        n = 0
        index, rows, repeat = self.index, self.rows, self.repeat
        for test_id, rep, status in changes:
            i = index.get(test_id)
            if i is None or not 0 <= rep < repeat:
                continue
            row = rows[i]
            old = row.cells[rep]
            if old == status:
                continue
            if old == "passed":
                row.passed -= 1
            elif old == "failed":
                row.failed -= 1
            if status == "passed":
                row.passed += 1
            elif status == "failed":
                row.failed += 1
            row.cells[rep] = status
            changed_rows.add(i)
            n += 1
        if changed_rows:
            top, height, width = int(self.scroll_offset.y), self.size.height, self.size.width
            regions = []
            for i in changed_rows:
                self._cache.pop(i, None)
                y = i + 1 - top
                if 0 < y < height:
                    regions.append(Region(0, y, width, 1))
            if regions:
                self.refresh(*regions)
        return n

    def rate(self, test_id: str) -> tuple[int, int]:
        r = self.rows[self.index[test_id]]
        return r.passed, r.passed + r.failed

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(FIXED_W + CELL_W * self.repeat, len(self.rows) + 1)

    def on_resize(self) -> None:
        self._cache.clear()
        self._resize_virtual()

    def watch_scroll_x(self, old: float, new: float) -> None:
        super().watch_scroll_x(old, new)
        self._cache.clear()

    # ------------------------------------------------------------------ rendering
    def _cells_view(self) -> tuple[int, int]:
        """(first run index shown, how many fit)."""
        room = max(0, self.size.width - FIXED_W)
        first = int(self.scroll_offset.x) // CELL_W
        return first, room // CELL_W

    def _header(self) -> Strip:
        first, n = self._cells_view()
        segs = [Segment(f" {'Test':<{NAME_W - 1}}{'Type':<{TYPE_W}}{'Pass':<{RATE_W}}", HEADER)]
        for k in range(first, min(self.repeat, first + n)):
            segs.append(Segment(f"{k + 1:>2} ", HEADER))
        return Strip(segs)

    def _row_strip(self, i: int) -> Strip:
        r = self.rows[i]
        first, n = self._cells_view()
        name = one_line(r.name, NAME_W - 2)
        kind = {"simulation": "sim"}.get(r.type, r.type)[: TYPE_W - 1]
        done = r.passed + r.failed
        on_row = i == self.cursor_row and self.has_focus
        segs = [Segment(f" {name:<{NAME_W - 1}}", FIXED + (Style(bold=True, underline=True) if on_row else Style())),
                Segment(f"{kind:<{TYPE_W}}", FIXED)]
        if done:
            pct = 100 * r.passed / done
            style = STYLE["passed"] if pct == 100 else (STYLE["failed"] if pct < 50 else STYLE["pending"])
            segs.append(Segment(f"{pct:3.0f}% ", style + FIXED))
        else:
            segs.append(Segment(f"{'—':>3}  ", DIM + FIXED))
        for k in range(first, min(self.repeat, first + n)):
            st = r.cells[k]
            style = STYLE.get(st, STYLE["?"])
            if on_row and k == self.cursor_col:
                style = style + CURSOR
            segs.append(Segment(f" {ICON.get(st, '?')} ", style))
        return Strip(segs)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._header().extend_cell_length(width, Style()).crop(0, width)
        i = int(self.scroll_offset.y) + y - 1
        if i >= len(self.rows):
            return Strip.blank(width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        strip = self._cache.get(i)
        if strip is None:
            strip = self._row_strip(i).extend_cell_length(width, Style()).crop(0, width)
            self._cache[i] = strip
        return strip

    # ------------------------------------------------------------------ cursor
    def _touch(self, *rows: int) -> None:
        for i in rows:
            self._cache.pop(i, None)
        self.refresh()

    def action_move(self, dx: int, dy: int) -> None:
        if not self.rows or not self.repeat:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(len(self.rows) - 1, self.cursor_row + dy))
        self.cursor_col = max(0, min(self.repeat - 1, self.cursor_col + dx))
        self._scroll_to_cursor()
        self._touch(old, self.cursor_row)

    def action_edge(self, d: int) -> None:
        self.action_move((self.repeat if d > 0 else -self.repeat), 0)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        h = max(1, self.size.height - 1)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + h:
            self.scroll_to(y=self.cursor_row - h + 1, animate=False)
        first, n = self._cells_view()
        if n and self.cursor_col < first:
            self.scroll_to(x=self.cursor_col * CELL_W, animate=False)
        elif n and self.cursor_col >= first + n:
            self.scroll_to(x=(self.cursor_col - n + 1) * CELL_W, animate=False)

    def action_select(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self, self.rows[self.cursor_row].test_id, self.cursor_col))

    def on_click(self, event: Click) -> None:
        y = event.y
        if y <= 0:
            return
        i = int(self.scroll_offset.y) + y - 1
        if not 0 <= i < len(self.rows):
            return
        old = self.cursor_row
        self.cursor_row = i
        if event.x >= FIXED_W:
            first, _ = self._cells_view()
            self.cursor_col = min(self.repeat - 1, first + (event.x - FIXED_W) // CELL_W)
        self._touch(old, i)
        if event.chain >= 2 or event.x >= FIXED_W:
            self.action_select()

    def on_focus(self) -> None:
        self._touch(self.cursor_row)

    def on_blur(self) -> None:
        self._touch(self.cursor_row)
