"""Save the editor as a new version: an optional message (kept in the version's file)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..widgets.fields import Field


class SaveVersionScreen(ModalScreen[str | None]):
    """Enter saves (with the message, or none); Esc cancels (nothing saved)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as d:
            d.border_title = f"Save {self.label}"
            yield Static("A message for this version (optional): what changed, or why.")
            yield Field(placeholder="e.g. confirm booking times", id="save-message")
            yield Static(Text("Enter: save · Esc: cancel (nothing saved)", style="dim"), classes="status")

    def on_mount(self) -> None:
        self.query_one("#save-message").focus()

    @on(Input.Submitted, "#save-message")
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
