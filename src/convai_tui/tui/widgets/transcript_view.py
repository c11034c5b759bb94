"""TranscriptView: a virtualized, selectable list of transcript turns.

Heights of all turns are computed with a cheap word-wrap (most lines fit and cost one
``cell_len``); only the turns on screen are turned into styled strips (and cached per
width). Opening a 5,000-turn call costs about what the first screen shows.
All API text passes through :func:`safe` and is emitted as plain segments: never markup.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...textutil import safe

if TYPE_CHECKING:
    from ...api.models import TranscriptTurn

ROLE = {"agent": Style(color="cyan", bold=True), "user": Style(color="magenta", bold=True)}
DIM = Style(dim=True)
TOOL = Style(color="yellow")
OK = Style(color="green")
ERR = Style(color="red")
SELECTED = Style(bgcolor="grey30")
PREFIX_W = 19  # "1234 agent  00:13  "
_SPLIT = re.compile(r"(\s+)")


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap by terminal cells; explicit newlines kept; long words split."""
    width = max(1, width)
    out: list[str] = []
    for para in text.split("\n"):
        if cell_len(para) <= width:
            out.append(para)
            continue
        line, lw = "", 0
        for word in _SPLIT.split(para):
            if not word:
                continue
            wl = cell_len(word)
            if lw + wl <= width:
                line += word
                lw += wl
            elif word.isspace():
                out.append(line)
                line, lw = "", 0
            else:
                if line:
                    out.append(line.rstrip())
                while wl > width:
                    cut, cw = 0, 0
                    while cut < len(word) and cw + cell_len(word[cut]) <= width:
                        cw += cell_len(word[cut])
                        cut += 1
                    cut = max(cut, 1)
                    out.append(word[:cut])
                    word = word[cut:]
                    wl = cell_len(word)
                line, lw = word, wl
        out.append(line)
    return out


def _params(p: str) -> str:
    try:
        return json.dumps(json.loads(p), ensure_ascii=False)
    except (ValueError, TypeError):
        return p


class TranscriptView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "move(-1)", "Prev turn", show=False),
        Binding("down,j", "move(1)", "Next turn", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("home", "move(-1000000)", show=False),
        Binding("end", "move(1000000)", show=False),
    ]

    highlighted: reactive[int | None] = reactive(None, always_update=True)

    class Highlighted(Message):
        def __init__(self, view: "TranscriptView", index: int) -> None:
            super().__init__()
            self.view, self.index = view, index

        @property
        def control(self) -> "TranscriptView":
            return self.view

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.turns: list[TranscriptTurn] = []
        self._offsets: list[int] = [0]  # first line of each turn (+ total at the end)
        self._width = 0
        self._cache: dict[int, list[Strip]] = {}

    # ------------------------------------------------------------------ data and layout
    def set_turns(self, turns: list["TranscriptTurn"]) -> None:
        self.turns = list(turns)
        self._cache.clear()
        self._layout(force=True)
        if self.turns and self.highlighted is None:
            self.highlighted = 0
        self.refresh()

    def append_turns(self, turns: list["TranscriptTurn"], *, follow: bool = True) -> None:
        """Add turns at the end: O(new turns). Keeps the view pinned to the end when it was."""
        if not turns:
            return
        at_end = self.scroll_offset.y >= self.max_scroll_y - 1
        if self._width != self.size.width:
            self.turns.extend(turns)
            self._layout()
        else:
            w = self._text_width()
            total = self._offsets[-1]
            for t in turns:
                self.turns.append(t)
                total += self._height(t, w)
                self._offsets.append(total)
            self.virtual_size = Size(self.scrollable_content_region.width, total)
        if follow and at_end:
            self.scroll_to(y=self._offsets[-1], animate=False)
        self.refresh()

    def clear(self) -> None:
        self.set_turns([])
        self.highlighted = None

    def _text_width(self) -> int:
        return max(10, self.size.width - PREFIX_W - 1)

    def _turn_lines(self, t: "TranscriptTurn") -> list[tuple[str, str]]:
        """(kind, text) lines of a turn at the current width. kind: msg, cont, call, result, result_err."""
        w = self._text_width()
        lines: list[tuple[str, str]] = []
        msg = safe(t.message or "")
        if t.interrupted:
            msg += "  (interrupted)"
        wrapped = wrap(msg, w) if msg else [""]
        lines.append(("msg", wrapped[0]))
        lines.extend(("cont", x) for x in wrapped[1:])
        for c in t.tool_calls or []:
            lines.append(("call", f"⚙ {safe(c.tool_name)}({safe(_params(c.params_as_json), limit=400)})"))
        for r in t.tool_results or []:
            text = f"↳ {safe(r.tool_name)}: {safe(r.result_value, limit=400)}" + (" (error)" if r.is_error else "")
            lines.append(("result_err" if r.is_error else "result", text))
        return lines

    def _height(self, t: "TranscriptTurn", w: int) -> int:
        msg = t.message or ""
        if len(msg) <= w and msg.isascii() and msg.isprintable() and not t.interrupted:
            h = 1  # the common case: one short ASCII line
        else:
            h = len(wrap(safe(msg) + ("  (interrupted)" if t.interrupted else ""), w)) if msg or t.interrupted else 1
        return h + len(t.tool_calls or []) + len(t.tool_results or [])

    def _layout(self, force: bool = False) -> None:
        width = self.size.width
        if not force and width == self._width:
            return
        if width == 0 and self.turns:  # not laid out yet: the first resize does it, once, at the real width;
            self._width = -1  # meanwhile one line a turn, so the offsets always match the turns
            self._offsets = list(range(len(self.turns) + 1))
            return
        self._width = width
        self._cache.clear()
        w = self._text_width()
        offsets = [0]
        total = 0
        for t in self.turns:
            total += self._height(t, w)
            offsets.append(total)
        self._offsets = offsets
        self.virtual_size = Size(self.scrollable_content_region.width, total)

    def on_resize(self) -> None:
        self._layout()

    # ------------------------------------------------------------------ rendering
    def _strips(self, i: int) -> list[Strip]:
        strips = self._cache.get(i)
        if strips is not None:
            return strips
        t = self.turns[i]
        width = self.size.width
        sel = SELECTED if i == self.highlighted else Style()
        role = safe(t.role)[:5]
        secs = int(t.time_in_call_secs or 0)
        out = []
        for kind, text in self._turn_lines(t):
            if kind == "msg":
                segs = [Segment(f"{i:>4} ", DIM + sel), Segment(f"{role:<6}", ROLE.get(t.role, Style(bold=True)) + sel),
                        Segment(f"{secs // 60:02d}:{secs % 60:02d}  ", DIM + sel), Segment(text, sel)]
            elif kind == "cont":
                segs = [Segment(" " * PREFIX_W + text, sel)]
            else:
                style = TOOL if kind == "call" else (ERR if kind == "result_err" else OK)
                segs = [Segment(" " * PREFIX_W, sel), Segment(text, style + sel)]
            out.append(Strip(segs).extend_cell_length(width, sel).crop(0, width))
        self._cache[i] = out
        return out

    def render_line(self, y: int) -> Strip:
        self._layout()
        line = int(self.scroll_offset.y) + y
        if not self.turns or line >= self._offsets[-1]:
            return Strip.blank(self.size.width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        i = bisect.bisect_right(self._offsets, line) - 1
        strips = self._strips(i)
        k = line - self._offsets[i]
        return strips[k] if k < len(strips) else Strip.blank(self.size.width, Style())  # (a style: NO_COLOR's monochrome filter reads it)

    def plain(self, i: int) -> str:
        """The turn as shown (for tests and copying)."""
        return "\n".join(s.text.rstrip() for s in self._strips(i))

    # ------------------------------------------------------------------ selection
    def watch_highlighted(self, old: int | None, new: int | None) -> None:
        for i in (old, new):
            if i is not None:
                self._cache.pop(i, None)
        if new is not None:
            self._scroll_to_turn(new)
            self.post_message(self.Highlighted(self, new))
        self.refresh()

    def _scroll_to_turn(self, i: int) -> None:
        if not self.turns:
            return
        self._layout()
        top, bottom = self._offsets[i], self._offsets[i + 1]
        view_top = int(self.scroll_offset.y)
        h = self.size.height
        if top < view_top:
            self.scroll_to(y=top, animate=False)
        elif bottom > view_top + h:
            self.scroll_to(y=max(0, bottom - h), animate=False)

    def action_move(self, d: int) -> None:
        if not self.turns:
            return
        cur = self.highlighted if self.highlighted is not None else 0
        self.highlighted = max(0, min(len(self.turns) - 1, cur + d))

    def on_click(self, event: Click) -> None:
        line = int(self.scroll_offset.y) + event.y
        if self.turns and line < self._offsets[-1]:
            self.highlighted = bisect.bisect_right(self._offsets, line) - 1
