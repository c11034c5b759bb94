"""The remote changed since the last pull: base, remote and local, and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ...textutil import safe

if TYPE_CHECKING:
    from ...services.prompts import PushConflict
    from ...workspace.versions import PromptDraft


class ConflictScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, conflict: PushConflict) -> None:
        super().__init__()
        self.c = conflict

    def _diff(self, title: str, a: PromptDraft, b: PromptDraft, la: str, lb: str) -> Text:
        from ...services.prompts import DiffResult

        t = Text(title + "\n", style="bold")
        lines = DiffResult(la, lb, a, b).unified()
        for ln in lines[2:] if len(lines) > 2 else ["(no change)"]:
            style = "green" if ln.startswith("+") else "red" if ln.startswith("-") else (
                "cyan" if ln.startswith("@@") else "")
            t.append(safe(ln) + "\n", style=style)
        return t

    def compose(self) -> ComposeResult:
        c = self.c
        with VerticalScroll(classes="dialog wide") as d:
            d.border_title = "Push refused: the remote changed"
            yield Static(Text(safe(str(c)), style="yellow"))
            yield Static(self._diff("Remote changes since your pull (base → remote):", c.base, c.remote,
                                    "base", "remote"))
            yield Static(self._diff("Your changes (base → local):", c.base, c.local, "base", "local"))
            with Horizontal(classes="buttons"):
                yield Button("Pull remote (keeps your edit)", variant="primary", id="cf-pull")
                yield Button("Force push", variant="error", id="cf-force")
                yield Button("Cancel", id="cf-cancel")

    @on(Button.Pressed, "#cf-pull")
    def _pull(self) -> None:
        self.dismiss("pull")

    @on(Button.Pressed, "#cf-force")
    def _force(self) -> None:
        self.dismiss("force")

    @on(Button.Pressed, "#cf-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
