"""Pick the two targets an A/B simulation compares (any two: remote, branches, saved versions, the
draft)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select


class ABScreen(ModalScreen[tuple[str, str] | None]):
    """Pick lane A and lane B."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, choices: list[tuple[str, str]], a: str, b: str) -> None:
        super().__init__()
        self.choices = choices
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        opts = [(Text(label), key) for label, key in self.choices]
        with Vertical(classes="dialog") as d:
            d.border_title = "A/B simulation"
            yield Label("A")
            yield Select(opts, value=self.a, allow_blank=False, id="ab-a")
            yield Label("B")
            yield Select(opts, value=self.b, allow_blank=False, id="ab-b")
            with Horizontal(classes="buttons"):
                yield Button("Run both", variant="primary", id="ab-run")
                yield Button("Cancel", id="ab-cancel")

    @on(Button.Pressed, "#ab-run")
    def _run(self) -> None:
        self.dismiss((str(self.query_one("#ab-a", Select).value), str(self.query_one("#ab-b", Select).value)))

    @on(Button.Pressed, "#ab-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)