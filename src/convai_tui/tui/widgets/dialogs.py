"""Generic dialogs: ask for one line of text, pick one item from a list, choose what to do."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from .fields import Field


class InputScreen(ModalScreen[str | None]):
    """Ask for one line of text."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text, self.prompt, self.placeholder = title, prompt, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as d:
            d.border_title = self.title_text
            yield Static(self.prompt)
            yield Field(placeholder=self.placeholder, id="in-value")
            yield Static(Text("Enter: OK · Esc: cancel", style="dim"), classes="status")

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
            yield Static(Text("Enter: choose · Esc: cancel", style="dim"), classes="status")

    def on_mount(self) -> None:
        self.query_one("#pick-list").focus()

    @on(OptionList.OptionSelected, "#pick-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """A question and a few answers (buttons; the first has focus). Esc answers None (do nothing)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("left", "app.focus_previous", show=False),
                Binding("right", "app.focus_next", show=False)]

    def __init__(self, title: str, question: str, choices: list[tuple[str, str, str]]) -> None:
        """``choices``: (value, label, button variant)."""
        super().__init__()
        self.title_text, self.question, self.choices = title, question, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as d:
            d.border_title = self.title_text
            yield Static(self.question)
            with Horizontal(classes="buttons"):
                for value, label, variant in self.choices:
                    yield Button(label, id=f"choice-{value}", variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id).removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)
