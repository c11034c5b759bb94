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
from textual.widgets import Footer, Label, Select, Static

from ...textutil import one_line
from ...workspace.diff import SideBySide, side_by_side
from ...workspace.versions import draft_text
from ..messages import CopyText
from ..widgets.diffview import DiffView, HunkChanged
from ..widgets.status import StatusLine

if TYPE_CHECKING:
    from ...services.session import Session
    from ...workspace.versions import PromptDraft


class DiffScreen(Screen):
    """With a session and an agent, the results of each side's recorded test runs show under the diff:
    what changed and what it did, on one screen."""

    AUTO_FOCUS = "#diff-view"  # n/p work at once (not after tabbing past the two pickers)
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the panes"),
        Binding("c", "copy_change", "Copy change", tooltip="Copy the current change as diff lines (OSC 52)"),
    ]

    def __init__(self, choices: list[tuple[str, str, "PromptDraft"]], a: str, b: str, *,
                 session: Session | None = None, agent_id: str | None = None) -> None:
        super().__init__()
        self.choices = {key: (label, draft) for label, key, draft in choices}
        self.a, self.b = a, b
        self.session, self.agent_id = session, agent_id

    def compose(self) -> ComposeResult:
        opts = [(Text(label), key) for key, (label, _) in self.choices.items()]
        with Horizontal(id="diff-bar"):
            yield Select(opts, value=self.a, allow_blank=False, id="diff-a", compact=True)
            yield Label("→", classes="arrow")
            yield Select(opts, value=self.b, allow_blank=False, id="diff-b", compact=True)
        yield StatusLine("", id="diff-stats")
        yield DiffView(id="diff-view")
        if self.session is not None:
            yield Static("", id="diff-results")
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
        self._results(la, da, lb, db)
        self._stats(sbs, la, lb)
        if sbs.hunks:
            view.call_after_refresh(view.action_next_change)  # open at the first change, marked

    def _results(self, la: str, da: PromptDraft, lb: str, db: PromptDraft) -> None:
        """Each test's recorded pass rate for A and for B, and which tests changed verdict."""
        if self.session is None or self.agent_id is None:
            return
        rows = self.session.matrix.results_for(self.agent_id, da, db)
        t = Text()
        if not rows:
            t.append("No recorded test runs of either prompt yet (run the tests against them, or fill the matrix).",
                     style="dim")
        else:
            changed = [r for r in rows if r[3] in ("now fails", "now passes")]
            t.append(f"Results  {one_line(la, 20)} → {one_line(lb, 20)}: ", style="bold")
            t.append(f"{len(changed)} test(s) changed verdict", style="bold yellow" if changed else "green")
            for name, a, b, what in rows:
                sa = f"{a.passed}/{a.total}" if a.total else "·"
                sb = f"{b.passed}/{b.total}" if b.total else "·"
                t.append(f"\n  {one_line(name, 40):<40} {sa:>7} {sb:>7}  ")
                t.append(what, style={"now fails": "bold red", "now passes": "bold green"}.get(what, "dim"))
        self.query_one("#diff-results", Static).update(t)

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
