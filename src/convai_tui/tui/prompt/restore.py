"""An unsaved draft from an earlier session: restore it or discard it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class RestoreDraftScreen(ModalScreen[bool]):
    """An unsaved draft from an earlier session: restore it or discard it."""

    BINDINGS = [Binding("escape", "discard", "Discard"), Binding("enter", "restore", "Restore")]

    def __init__(self, saved: str, chars: int) -> None:
        super().__init__()
        self.saved, self.chars = saved, chars

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as d:
            d.border_title = "Unsaved draft found"
            yield Label(Text(f"An unsaved prompt draft ({self.chars:,} characters) was autosaved at {self.saved}, "
                             "probably before a crash or a dropped connection."))
            with Horizontal(classes="buttons"):
                yield Button("Restore it", variant="primary", id="rd-restore")
                yield Button("Discard", id="rd-discard")

    def on_mount(self) -> None:
        self.query_one("#rd-restore").focus()

    @on(Button.Pressed, "#rd-restore")
    def action_restore(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#rd-discard")
    def action_discard(self) -> None:
        self.dismiss(False)