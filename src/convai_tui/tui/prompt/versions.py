"""Pick a saved prompt version (Enter restores it into the editor)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ...textutil import one_line
from ...workspace.versions import PromptVersion
from ..widgets.render import when


class VersionsScreen(ModalScreen[PromptVersion | None]):
    """Pick a saved prompt version (Enter restores it into the editor)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, versions: list[PromptVersion]) -> None:
        super().__init__()
        self.versions = list(reversed(versions))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide") as d:
            d.border_title = "Prompt versions"
            ol = OptionList(*[Option(self._label(v), id=str(v.number)) for v in self.versions], id="pv-list")
            yield ol
            yield Label(Text("Enter: restore into the editor · Esc: close", style="dim"))

    @staticmethod
    def _label(v: PromptVersion) -> Text:
        t = Text()
        t.append(f"{v.label:<5}", style="bold")
        t.append(f" {when(v.created)}  ")
        t.append(f"{one_line(v.source, 24):<24} ", style="cyan")
        t.append(one_line(v.message or v.draft.prompt, 70), style="dim" if not v.message else "")
        return t

    def on_mount(self) -> None:
        self.query_one("#pv-list").focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        num = int(event.option.id or 0)
        self.dismiss(next((v for v in self.versions if v.number == num), None))

    def action_cancel(self) -> None:
        self.dismiss(None)