"""A test run: its target, status, condition, rationale and the agent's responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ...services.tests import rationale_of
from ...textutil import one_line, safe
from ..messages import CopyText
from ..widgets.render import result_text, turn_text

if TYPE_CHECKING:
    from ...api.models import TestRun


class RunDetailScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", tooltip="Close"),
        Binding("c", "copy_rationale", "Copy rationale", tooltip="Copy the verdict's rationale (OSC 52)"),
        Binding("C", "copy_all", "Copy all", show=False, tooltip="Copy everything this dialog shows (OSC 52)"),
    ]

    def __init__(self, run: TestRun, condition: str, repeat: int, target_label: str = "", road: str = "") -> None:
        super().__init__()
        self.run = run
        self.condition = condition
        self.repeat = repeat
        self.target_label, self.road = target_label, road

    def compose(self) -> ComposeResult:
        r = self.run
        t = Text()
        t.append(one_line(r.test_name or r.test_id, 80), style="bold")
        t.append(f"   run #{self.repeat + 1}   ")
        t.append_text(result_text(r.status))
        if self.target_label:
            t.append("\nTarget: ", style="bold")
            t.append(safe(self.target_label))
            if self.road:
                t.append(f"  ·  {safe(self.road)}", style="dim")
        t.append("\n\nCondition: ", style="bold")
        t.append(safe(self.condition) or "—")
        cr = r.condition_result
        if cr is not None:
            t.append("\n\nVerdict: ", style="bold")
            t.append_text(result_text(cr.result))
            why = rationale_of(r)
            if why:
                t.append("\n" + safe(why))
        elif r.status == "pending":
            t.append("\n\nStill running…", style="yellow")
        t.append("\n\nAgent responses:\n", style="bold")
        for i, turn in enumerate(r.agent_responses or []):
            t.append_text(turn_text(turn, i))
            t.append("\n")
        if not r.agent_responses:
            t.append("—\n", style="dim")
        self.text = t
        with VerticalScroll(classes="dialog wide", id="rd-box") as d:
            d.border_title = "Test run"
            d.border_subtitle = "c: copy rationale · C: copy all · Esc: close"
            yield Static(t)
            yield Button("Close", id="rd-close")

    def on_mount(self) -> None:
        self.query_one("#rd-box").focus()  # arrows and PgUp/PgDn scroll a long one

    def action_copy_rationale(self) -> None:
        why = rationale_of(self.run)
        if not why:
            self.app.notify("This run has no rationale (yet).")
            return
        self.post_message(CopyText(why, "the rationale"))

    def action_copy_all(self) -> None:
        self.post_message(CopyText(self.text.plain, "the test run"))

    @on(Button.Pressed, "#rd-close")
    def _close(self) -> None:
        self.dismiss(None)
