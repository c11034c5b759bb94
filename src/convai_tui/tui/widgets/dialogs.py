"""Generic dialogs: ask for one line of text, pick one item from a list."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

class InputScreen(ModalScreen[str | None]):
    """Ask for one line of text."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text, self.prompt, self.placeholder = title, prompt, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as d:
            d.border_title = self.title_text
            yield Label(self.prompt)
            yield Input(placeholder=self.placeholder, id="in-value")
            yield Label("Enter: OK · Esc: cancel", classes="status")

    def on_mount(self) -> None:
        self.query_one("#in-value").focus()

    @on(Input.Submitted, "#in-value")
    def _ok(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)

class PickScreen(ModalScreen[str | None]):
    """Pick one item from a list."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, items: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.items = title, items

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as d:
            d.border_title = self.title_text
            yield OptionList(*[Option(Text(label), id=key) for label, key in self.items], id="pick-list")
            yield Label("Enter: choose · Esc: cancel", classes="status")

    def on_mount(self) -> None:
        self.query_one("#pick-list").focus()

    @on(OptionList.OptionSelected, "#pick-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
