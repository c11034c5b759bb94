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
from .wrap import line_count, wrap_spans

if TYPE_CHECKING:
    from ...api.models import TranscriptTurn

ROLE = {"agent": Style(color="cyan", bold=True), "user": Style(color="magenta", bold=True)}
DIM = Style(dim=True)
TOOL = Style(color="yellow")
OK = Style(color="green")
ERR = Style(color="red")
SELECTED = Style(bgcolor="grey30")
HIT = Style(bgcolor="yellow", color="black")
PREFIX_W = 18  # "1234 agent 00:13  ": every line of a turn's text starts in this column
TOOL_LIMIT = 4000  # characters of a tool call's parameters or result shown (the copy has them all)


def _params(p: str) -> str:
    try:
        return json.dumps(json.loads(p), ensure_ascii=False)
    except (ValueError, TypeError):
        return p


def turn_blocks(t: "TranscriptTurn", *, limit: int | None = TOOL_LIMIT) -> list[tuple[str, str]]:
    """The parts of a turn as (kind, text): its message (kind ``msg``, always first, maybe empty),
    then each tool call (``call``) and result (``result``/``result_err``). API text made safe."""
    msg = safe(t.message or "")
    if t.interrupted:
        msg += "  (interrupted)"
    blocks = [("msg", msg)]
    for c in t.tool_calls or []:
        blocks.append(("call", f"⚙ {safe(c.tool_name)}({safe(_params(c.params_as_json), limit=limit)})"))
    for r in t.tool_results or []:
        text = f"↳ {safe(r.tool_name)}: {safe(r.result_value, limit=limit)}" + (" (error)" if r.is_error else "")
        blocks.append(("result_err" if r.is_error else "result", text))
    return blocks


def turn_plain(i: int, t: "TranscriptTurn") -> str:
    """A turn as plain text, whole (no wrapping, nothing shortened): what copying a turn copies."""
    secs = int(t.time_in_call_secs or 0)
    blocks = turn_blocks(t, limit=None)
    head = f"#{i} {safe(t.role)} {secs // 60:02d}:{secs % 60:02d}  {blocks[0][1]}".rstrip()
    return "\n".join([head] + [f"    {text}" for _, text in blocks[1:]])


class TranscriptView(ScrollView, can_focus=True):
    """Turns, wrapped at the width (nothing cut: long messages and tool calls wrap), one highlighted.
    A search term highlights its hits; ``next_hit``/``prev_hit`` move between the turns holding one."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Prev turn", show=False),
        Binding("down,j", "move(1)", "Next turn", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("home", "move(-1000000)", show=False),
        Binding("end", "move(1000000)", show=False),
    ]
    DEFAULT_CSS = """
    TranscriptView { scrollbar-gutter: stable; overflow-x: hidden; }
    """

    highlighted: reactive[int | None] = reactive(None, always_update=True)

    class Highlighted(Message):
        def __init__(self, view: "TranscriptView", index: int) -> None:
            super().__init__()
            self.view, self.index = view, index

        @property
        def control(self) -> "TranscriptView":
            return self.view

    def __init__(self, *, follow: bool = False, **kw: Any) -> None:
        """``follow``: a live view (a simulation lane) that stays on its last line when it shrinks."""
        super().__init__(**kw)
        self.follow = follow
        self.turns: list[TranscriptTurn] = []
        self._offsets: list[int] = [0]  # first line of each turn (+ total at the end)
        self._width = 0
        self._cache: dict[int, list[Strip]] = {}
        self._at_end = True  # scrolled to the last line (kept there when the view shrinks)
        self.search = ""  # the term whose hits are highlighted
        self._search_re: re.Pattern[str] | None = None

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
        if self._width != self._view_width():
            self.turns.extend(turns)
            self._layout()
        else:
            w = self._text_width()
            total = self._offsets[-1]
            for t in turns:
                self.turns.append(t)
                total += self._height(t, w)
                self._offsets.append(total)
            self.virtual_size = Size(self._width, total)
        if follow and at_end:
            self.scroll_to(y=self._offsets[-1], animate=False)
        self.refresh()

    def clear(self) -> None:
        self.set_turns([])
        self.highlighted = None

    def _view_width(self) -> int:
        """The width lines are laid out for: the content area minus the scrollbar's gutter (a line
        running under the scrollbar lost its last characters)."""
        return self.scrollable_content_region.width

    def _text_width(self) -> int:
        return max(10, self._width - PREFIX_W)

    def _height(self, t: "TranscriptTurn", w: int) -> int:
        msg = t.message or ""
        if not t.tool_calls and not t.tool_results and not t.interrupted and len(msg) <= w \
                and msg.isascii() and msg.isprintable():
            return 1  # the common case: one short plain line
        return sum(line_count(text, w) for _, text in turn_blocks(t))

    def _layout(self, force: bool = False) -> None:
        width = self._view_width()
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
        self.virtual_size = Size(width, total)

    def on_resize(self) -> None:
        follow = self.follow and self._at_end
        self._layout()
        if follow and self.turns:  # shrunk (the analysis arrived below): the last turns stay in view
            self.call_after_refresh(self.scroll_to, y=self.max_scroll_y, animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._at_end = new_value >= self.max_scroll_y - 1

    # ------------------------------------------------------------------ search
    def set_search(self, term: str) -> list[int]:
        """Highlight ``term`` (literal, any case); returns the turns that hold it."""
        self.search = term
        self._search_re = re.compile(re.escape(term), re.IGNORECASE) if term else None
        self._cache.clear()
        self.refresh()
        return self.hits()

    def hits(self) -> list[int]:
        if self._search_re is None:
            return []
        rx = self._search_re
        return [i for i, t in enumerate(self.turns) if any(rx.search(text) for _, text in turn_blocks(t))]

    def next_hit(self, direction: int = 1) -> int | None:
        """Highlight the next (or previous) turn holding the search term, wrapping around."""
        hits = self.hits()
        if not hits:
            return None
        cur = self.highlighted if self.highlighted is not None else -1
        if direction > 0:
            nxt = next((h for h in hits if h > cur), hits[0])
        else:
            nxt = next((h for h in reversed(hits) if h < cur), hits[-1])
        self.highlighted = nxt
        return nxt

    # ------------------------------------------------------------------ rendering
    def _hit_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._search_re.finditer(text)] if self._search_re is not None and text else []

    def _pieces(self, text: str, base: Style, sel: Style, lo: int, hi: int,
                hits: list[tuple[int, int]]) -> list[Segment]:
        """text[lo:hi] as segments, search hits highlighted."""
        segs: list[Segment] = []
        pos = lo
        for a, b in hits:
            a, b = max(a, lo), min(b, hi)
            if a >= b:
                continue
            if a > pos:
                segs.append(Segment(text[pos:a], base + sel))
            segs.append(Segment(text[a:b], base + HIT))
            pos = b
        if pos < hi:
            segs.append(Segment(text[pos:hi], base + sel))
        return segs

    def _strips(self, i: int) -> list[Strip]:
        strips = self._cache.get(i)
        if strips is not None:
            return strips
        t = self.turns[i]
        width = self._width
        w = self._text_width()
        sel = SELECTED if i == self.highlighted else Style()
        role = safe(t.role)[:5]
        secs = int(t.time_in_call_secs or 0)
        indent = Segment(" " * PREFIX_W, sel)
        out = []
        for kind, text in turn_blocks(t):
            style = {"msg": Style(), "call": TOOL, "result": OK, "result_err": ERR}[kind]
            hits = self._hit_spans(text)
            para_start = 0
            for para in text.split("\n"):
                for s, e in wrap_spans(para, w):
                    lo, hi = para_start + s, para_start + e
                    if kind == "msg" and lo == 0:
                        segs = [Segment(f"{i:>4} ", DIM + sel),
                                Segment(f"{role:<6}", ROLE.get(t.role, Style(bold=True)) + sel),
                                Segment(f"{secs // 60:02d}:{secs % 60:02d}  ", DIM + sel)]
                    else:
                        segs = [indent]
                    segs.extend(self._pieces(text, style, sel, lo, hi, hits))
                    out.append(Strip(segs).extend_cell_length(width, sel).crop(0, width))
                para_start += len(para) + 1
        self._cache[i] = out
        return out

    def render_line(self, y: int) -> Strip:
        self._layout()
        line = int(self.scroll_offset.y) + y
        if not self.turns or line >= self._offsets[-1]:
            return Strip.blank(self._width, Style())  # (a style: NO_COLOR's monochrome filter reads it)
        i = bisect.bisect_right(self._offsets, line) - 1
        strips = self._strips(i)
        k = line - self._offsets[i]
        return strips[k] if k < len(strips) else Strip.blank(self._width, Style())  # (a style: NO_COLOR's monochrome filter reads it)

    def plain(self, i: int) -> str:
        """The turn as shown (for tests)."""
        self._layout()
        return "\n".join(s.text.rstrip() for s in self._strips(i))

    def turn_text(self, i: int) -> str:
        """The turn whole, as plain text (for copying)."""
        return turn_plain(i, self.turns[i])

    def all_text(self) -> str:
        """Every turn whole, as plain text (for copying)."""
        return "\n".join(turn_plain(i, t) for i, t in enumerate(self.turns))

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
        h = self.scrollable_content_region.height
        if top < view_top:
            self.scroll_to(y=top, animate=False)
        elif bottom > view_top + h:
            self.scroll_to(y=max(0, min(top, bottom - h)), animate=False)

    def action_move(self, d: int) -> None:
        if not self.turns:
            return
        cur = self.highlighted if self.highlighted is not None else 0
        self.highlighted = max(0, min(len(self.turns) - 1, cur + d))

    def on_click(self, event: Click) -> None:
        line = int(self.scroll_offset.y) + event.y
        if self.turns and line < self._offsets[-1]:
            self.highlighted = bisect.bisect_right(self._offsets, line) - 1
