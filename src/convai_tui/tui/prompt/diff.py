"""The side-by-side diff screen: pick any two versions (saved, remote, the editor), synchronized
scrolling, word highlights, n/p between changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Label, Select

from ...workspace.diff import SideBySide, side_by_side
from ...workspace.versions import draft_text
from ..messages import CopyText
from ..widgets.diffview import DiffView, HunkChanged
from ..widgets.status import StatusLine

if TYPE_CHECKING:
    from ...workspace.versions import PromptDraft


class DiffScreen(Screen):
    AUTO_FOCUS = "#diff-view"  # n/p work at once (not after tabbing past the two pickers)
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the panes"),
        Binding("c", "copy_change", "Copy change", tooltip="Copy the current change as diff lines (OSC 52)"),
    ]

    def __init__(self, choices: list[tuple[str, str, "PromptDraft"]], a: str, b: str) -> None:
        super().__init__()
        self.choices = {key: (label, draft) for label, key, draft in choices}
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        opts = [(Text(label), key) for key, (label, _) in self.choices.items()]
        with Horizontal(id="diff-bar"):
            yield Select(opts, value=self.a, allow_blank=False, id="diff-a", compact=True)
            yield Label("→", classes="arrow")
            yield Select(opts, value=self.b, allow_blank=False, id="diff-b", compact=True)
        yield StatusLine("", id="diff-stats")
        yield DiffView(id="diff-view")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._recompute()
        self.query_one(DiffView).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_change":
            return bool(self.query_one(DiffView).sbs.hunks)
        return True

    def action_copy_change(self) -> None:
        view = self.query_one(DiffView)
        if not view.sbs.hunks:
            return
        i = max(0, view.current_hunk)
        self.post_message(CopyText(view.hunk_text(i), f"change {i + 1}/{len(view.sbs.hunks)}"))

    @on(Select.Changed)
    def _changed(self) -> None:
        self._recompute()

    def _recompute(self) -> None:
        a = str(self.query_one("#diff-a", Select).value)
        b = str(self.query_one("#diff-b", Select).value)
        if (a, b) == getattr(self, "_shown", None):
            return  # Select.Changed also fires on mount: compute each pair once
        self._shown = (a, b)
        la, da = self.choices[a]
        lb, db = self.choices[b]
        sbs = side_by_side(draft_text(da), draft_text(db))
        view = self.query_one(DiffView)
        view.set_diff(sbs)
        self._stats(sbs, la, lb)
        if sbs.hunks:
            view.call_after_refresh(view.action_next_change)  # open at the first change, marked

    def _stats(self, sbs: SideBySide, la: str, lb: str) -> None:
        view = self.query_one(DiffView)
        t = Text()
        if sbs.identical:
            t.append(f"{la} and {lb} are identical", style="green")
        else:
            t.append(f"+{sbs.added} ", style="green")
            t.append(f"-{sbs.removed} ", style="red")
            t.append(f"~{sbs.changed} lines · {len(sbs.hunks)} change(s)")
            if view.current_hunk >= 0:
                t.append(f" · at change {view.current_hunk + 1}/{len(sbs.hunks)}", style="bold")
            t.append(" · n/p: next/prev · c: copy", style="dim")
        self.query_one("#diff-stats", Label).update(t)

    @on(HunkChanged)
    def _hunk(self) -> None:
        if not self.is_attached or self not in self.app.screen_stack:
            return  # closed (Esc right after n) before this arrived
        a = self.choices[str(self.query_one("#diff-a", Select).value)][0]
        b = self.choices[str(self.query_one("#diff-b", Select).value)][0]
        self._stats(self.query_one(DiffView).sbs, a, b)
