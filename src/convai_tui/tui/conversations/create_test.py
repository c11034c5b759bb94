"""Form: the chat history up to the selected turn becomes an llm test."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ...textutil import one_line
from ..widgets.fields import Field

if TYPE_CHECKING:
    from ...api.models import Conversation


class CreateTestScreen(ModalScreen[dict | None]):
    """Form: the chat history up to the selected turn becomes an llm test."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "create", "Create")]

    def __init__(self, conv: Conversation, upto: int) -> None:
        super().__init__()
        self.conv = conv
        self.upto = upto

    def compose(self) -> ComposeResult:
        last_user = next((t.message or "" for t in reversed(self.conv.transcript[: self.upto + 1])
                          if t.role == "user"), "")
        with Vertical(classes="dialog") as d:
            d.border_title = "Create test from conversation"
            yield Label(Text(f"Chat history: turns 0–{self.upto}, ending with the caller saying: "
                             f"“{one_line(last_user, 80)}”", style="dim"))
            yield Label("Name")
            yield Field(value=one_line(f"From {self.conv.conversation_id[:14]} turn {self.upto}", 60), id="ct-name")
            yield Label("Success condition (what the next agent reply must do)")
            yield Field(placeholder="e.g. The agent confirms the booking time.", id="ct-condition")
            yield Label("Success example (optional)")
            yield Field(id="ct-success")
            yield Label("Failure example (optional)")
            yield Field(id="ct-failure")
            yield Label("", id="ct-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Create (ctrl+s)", variant="primary", id="ct-create")
                yield Button("Cancel", id="ct-cancel")

    def on_mount(self) -> None:
        self.query_one("#ct-condition", Input).focus()

    @on(Button.Pressed, "#ct-create")
    def action_create(self) -> None:
        name = self.query_one("#ct-name", Input).value.strip()
        cond = self.query_one("#ct-condition", Input).value.strip()
        if not name or not cond:
            self.query_one("#ct-error", Label).update("A name and a success condition are required.")
            return
        self.dismiss({"name": name, "success_condition": cond,
                      "success_examples": [self.query_one("#ct-success", Input).value],
                      "failure_examples": [self.query_one("#ct-failure", Input).value]})

    @on(Button.Pressed, "#ct-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)