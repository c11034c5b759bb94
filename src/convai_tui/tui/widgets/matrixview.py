"""MatrixView: tests x targets, each cell a pass rate with its counts (line API: only the visible rows
render). The test names stay put while the target columns scroll sideways."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...textutil import one_line

NAME_W, CELL_W = 30, 10
HEADER = Style(bold=True, bgcolor="grey23")
FIXED = Style(bgcolor="grey15")
CURSOR = Style(reverse=True)
STYLES = {"pass": Style(color="green", bold=True), "fail": Style(color="red", bold=True),
          "mixed": Style(color="yellow", bold=True), "empty": Style(dim=True)}


class MatrixView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(0,-1)", show=False), Binding("down", "move(0,1)", show=False),
        Binding("left", "move(-1,0)", show=False), Binding("right", "move(1,0)", show=False),
        Binding("pageup", "move(0,-10)", show=False), Binding("pagedown", "move(0,10)", show=False),
        Binding("enter", "select", "Open", show=False, tooltip="Open the cell's latest run"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)
    cursor_col: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        def __init__(self, view: "MatrixView", row: int, col: int) -> None:
            super().__init__()
            self.view, self.row, self.col = view, row, col

        @property
        def control(self) -> "MatrixView":
            return self.view

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.columns: list[tuple[str, str]] = []  # (header, overall)
        self.names: list[str] = []
        self.cells: list[list[tuple[str, str]]] = []  # (text, kind) per row per column
        self.footers: list[tuple[str, list[str]]] = []  # (label, text per column) under the tests

    def set_data(self, columns: list[tuple[str, str]], names: list[str], cells: list[list[tuple[str, str]]]) -> None:
        self.columns, self.names, self.cells = columns, names, cells
        self.cursor_row = min(self.cursor_row, max(0, len(names) - 1))
        self.cursor_col = min(self.cursor_col, max(0, len(columns) - 1))
        self._resize()
        self.refresh()

    def set_footers(self, footers: list[tuple[str, list[str]]]) -> None:
        self.footers = footers
        self._resize()
        self.refresh()

    def _resize(self) -> None:
        extra = len(self.footers) + (1 if self.footers else 0)
        self.virtual_size = Size(NAME_W + CELL_W * len(self.columns), len(self.names) + 2 + extra)

    def _visible_cols(self) -> range:
        first = int(self.scroll_offset.x) // CELL_W
        n = max(1, (self.size.width - NAME_W) // CELL_W)
        return range(first, min(len(self.columns), first + n))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cols = self._visible_cols()
        if y < 2:
            segs = [Segment(f" {'Test' if y == 0 else 'overall':<{NAME_W - 1}}", HEADER)]
            for k in cols:
                text = self.columns[k][y]
                segs.append(Segment(f"{one_line(text, CELL_W - 1):>{CELL_W - 1}} ", HEADER))
            return Strip(segs).extend_cell_length(width, HEADER).crop(0, width)
        i = int(self.scroll_offset.y) + y - 2
        if i >= len(self.names):
            k = i - len(self.names) - 1  # one blank row, then the footers
            if 0 <= k < len(self.footers):
                label, texts = self.footers[k]
                segs = [Segment(f" {one_line(label, NAME_W - 2):<{NAME_W - 1}}", FIXED + Style(dim=True))]
                segs += [Segment(f"{one_line(texts[c], CELL_W - 1):>{CELL_W - 1}} ", Style(dim=True))
                         for c in cols if c < len(texts)]
                return Strip(segs).extend_cell_length(width, Style()).crop(0, width)
            return Strip.blank(width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        on_row = i == self.cursor_row
        segs = [Segment(f" {one_line(self.names[i], NAME_W - 2):<{NAME_W - 1}}",
                        FIXED + (Style(bold=True) if on_row and self.has_focus else Style()))]
        for k in cols:
            text, kind = self.cells[i][k]
            style = STYLES.get(kind, Style())
            if on_row and k == self.cursor_col and self.has_focus:
                style = style + CURSOR
            segs.append(Segment(f"{text:>{CELL_W - 1}} ", style))
        return Strip(segs).extend_cell_length(width, Style()).crop(0, width)

    def action_move(self, dx: int, dy: int) -> None:
        if not self.names:
            return
        self.cursor_row = max(0, min(len(self.names) - 1, self.cursor_row + dy))
        self.cursor_col = max(0, min(len(self.columns) - 1, self.cursor_col + dx))
        top, h = int(self.scroll_offset.y), max(1, self.size.height - 2)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + h:
            self.scroll_to(y=self.cursor_row - h + 1, animate=False)
        cols = self._visible_cols()
        if self.cursor_col < cols.start:
            self.scroll_to(x=self.cursor_col * CELL_W, animate=False)
        elif self.cursor_col >= cols.stop:
            self.scroll_to(x=(self.cursor_col - len(cols) + 1) * CELL_W, animate=False)
        self.refresh()

    def action_select(self) -> None:
        if self.names:
            self.post_message(self.Selected(self, self.cursor_row, self.cursor_col))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def plain(self) -> str:
        """The whole matrix as text (tests)."""
        lines = [" ".join([f"{'Test':<{NAME_W}}"] + [h for h, _ in self.columns])]
        for name, row in zip(self.names, self.cells):
            lines.append(" ".join([f"{name:<{NAME_W}}"] + [t for t, _ in row]))
        return "\n".join(lines)
