"""Edit a simulation scenario: persona, first message, language, mocks, criteria, limit."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea

from ...workspace.scenarios import Scenario
from ..widgets.fields import Field, TextEditor


class ScenarioScreen(ModalScreen[Scenario | None]):
    """Edit a simulation scenario: persona, first message, language, mocks, criteria, limit."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario

    def compose(self) -> ComposeResult:
        s = self.scenario
        with VerticalScroll(classes="dialog wide") as d:
            d.border_title = "Scenario"
            yield Label("Name")
            yield Field(s.name, id="sc-name")
            yield Label("Simulated user persona (prompt)")
            yield TextEditor(s.persona, id="sc-persona", soft_wrap=True, classes="short")
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("First message (optional)")
                    yield Field(s.first_message, id="sc-first")
                with Vertical(classes="narrow"):
                    yield Label("Language")
                    yield Field(s.language, placeholder="en", id="sc-lang")
                with Vertical(classes="narrow"):
                    yield Label("Turn limit")
                    yield Field(str(s.turn_limit), id="sc-limit", type="integer")
            yield Label("Tool mocks: one per line, `tool_name = return value` (prefix ! for an error)")
            yield TextEditor(s.mocks_text(), id="sc-mocks", classes="short")
            yield Label("Extra evaluation criteria: one per line, `id: goal`")
            yield TextEditor(s.criteria_text(), id="sc-criteria", classes="short")
            yield Label(Text(f"Partial history: {len(s.partial_history)} turn(s)"
                             + (" (press h on a transcript turn to set it)" if not s.partial_history else ""),
                             style="dim"), id="sc-history")
            yield Label("", id="sc-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="sc-save")
                yield Button("Clear history", id="sc-clear-history")
                yield Button("Cancel", id="sc-cancel")

    @on(Button.Pressed, "#sc-clear-history")
    def _clear_history(self) -> None:
        self.scenario.partial_history = []
        self.query_one("#sc-history", Label).update("Partial history: 0 turn(s)")

    @on(Button.Pressed, "#sc-save")
    def action_save(self) -> None:
        err = self.query_one("#sc-error", Label)
        try:
            limit = int(self.query_one("#sc-limit", Input).value or "20")
            if not 1 <= limit <= 10000:
                raise ValueError("the turn limit must be between 1 and 10000")
            mocks = Scenario.parse_mocks(self.query_one("#sc-mocks", TextArea).text)
            criteria = Scenario.parse_criteria(self.query_one("#sc-criteria", TextArea).text)
        except ValueError as exc:
            err.update(Text(str(exc)))
            return
        name = self.query_one("#sc-name", Input).value.strip()
        if not name:
            err.update("The scenario needs a name.")
            return
        self.dismiss(Scenario(
            name=name, persona=self.query_one("#sc-persona", TextArea).text.strip(),
            first_message=self.query_one("#sc-first", Input).value.strip(),
            language=self.query_one("#sc-lang", Input).value.strip(), turn_limit=limit, tool_mocks=mocks,
            criteria=criteria, partial_history=list(self.scenario.partial_history),
            dynamic_variables=dict(self.scenario.dynamic_variables)))

    @on(Button.Pressed, "#sc-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)