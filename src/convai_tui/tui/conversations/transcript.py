"""One conversation: turns (with tool calls), analysis, data collection; from here a turn becomes a
test (``t``), the history of a simulation (``h``), and the call is liked or disliked (``l``/``d``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from ...api.errors import ConvAIError
from ...services.errors import UsageError
from ...textutil import one_line, safe
from ..widgets.loading import loaded
from ..messages import AgentChanged, CopyText, FeedbackChanged, UseAsHistory
from ..widgets.fields import Field
from ..widgets.render import analysis_text, mmss, when
from ..widgets.transcript_view import TranscriptView
from .create_test import CreateTestScreen

if TYPE_CHECKING:
    from ...api.models import Conversation
    from ...services.session import Session


class TranscriptScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the panes"),
        Binding("slash", "search", "Search", key_display="/",
                tooltip="Search this transcript (Enter: find; n / N: next / previous hit)"),
        Binding("n", "next_hit(1)", "Next hit", show=False, tooltip="Next search hit"),
        Binding("N", "next_hit(-1)", "Prev hit", show=False, tooltip="Previous search hit"),
        Binding("t", "test_from_turn", "Test", tooltip="Make the history up to this turn a test"),
        Binding("h", "use_as_history", "History",
                tooltip="Make the history up to this turn the partial history of the current scenario"),
        Binding("l", "feedback('like')", "Like", tooltip="Like the call"),
        Binding("d", "feedback('dislike')", "Dislike", tooltip="Dislike the call"),
        Binding("c", "copy_turn", "Copy", tooltip="Copy the highlighted turn (OSC 52)"),
        Binding("C", "copy_all", "Copy all", show=False, tooltip="Copy the whole transcript (OSC 52)"),
    ]

    def __init__(self, session: Session, conversation_id: str, turn: int | None = None, search: str = "") -> None:
        super().__init__()
        self.session = session
        self.conversation_id = conversation_id
        self.start_turn = turn
        self.search = search
        self.conv: Conversation | None = None
        self.feedback: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Conversation {one_line(self.conversation_id, 80)}", style="bold"), id="tr-header")
        with Horizontal(id="tr-body"):
            view = TranscriptView(id="tr-turns")
            view.border_title = "Transcript"
            yield view
            with VerticalScroll(id="tr-side") as side:
                side.border_title = "Analysis"
                yield Static("", id="tr-analysis")
        yield Field(placeholder="Search this transcript… (Enter: find · Esc: back)", id="tr-search", compact=True,
                    classes="-hidden")
        yield Footer(compact=True)

    @property
    def view(self) -> TranscriptView:
        return self.query_one("#tr-turns", TranscriptView)

    def focus_home(self) -> Widget:
        return self.view

    # ------------------------------------------------------------------ search
    def action_search(self) -> None:
        box = self.query_one("#tr-search", Field)
        box.set_class(False, "-hidden")
        box.focus()

    @on(Input.Submitted, "#tr-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.apply_search(event.value.strip())
        self.view.focus()

    @on(Field.Blurred, "#tr-search")
    def _search_left(self) -> None:
        self.query_one("#tr-search").set_class(True, "-hidden")

    def apply_search(self, term: str) -> None:
        view = self.view
        self.search = term
        hits = view.set_search(term)
        if term and hits:
            cur = view.highlighted if view.highlighted is not None else -1
            if cur not in hits:
                view.next_hit(1)
        self._search_status()

    def _search_status(self) -> None:
        view = self.view
        if not self.search:
            view.border_subtitle = ""
            return
        hits = view.hits()
        if not hits:
            view.border_subtitle = f"“{one_line(self.search, 24)}”: no hits"
            return
        at = f"{hits.index(view.highlighted) + 1}/" if view.highlighted in hits else ""
        view.border_subtitle = f"“{one_line(self.search, 24)}”: {at}{len(hits)} turns · n/N"

    def action_next_hit(self, direction: int) -> None:
        if not self.search:
            self.app.notify("Press / to search this transcript first.")
            return
        if self.view.next_hit(direction) is None:
            self.app.notify(f"No turn holds “{one_line(self.search, 40)}”.", markup=False)
        self._search_status()

    @on(TranscriptView.Highlighted, "#tr-turns")
    def _turn_moved(self) -> None:
        if self.search:
            self._search_status()

    # ------------------------------------------------------------------ copy
    def action_copy_turn(self) -> None:
        i = self._turn()
        if self.conv is None or i is None:
            return
        self.post_message(CopyText(self.view.turn_text(i), f"turn {i}"))

    def action_copy_all(self) -> None:
        if self.conv is None:
            return
        self.post_message(CopyText(self.view.all_text(), f"the transcript ({len(self.conv.transcript)} turns)"))

    def on_mount(self) -> None:
        self.query_one("#tr-turns").loading = True
        self.load()

    @property
    def closed(self) -> bool:
        """True once this screen has been dismissed: its widgets may already be gone, even before
        its workers are cancelled (a modal pushed on top does not count: it is still open)."""
        return self not in self.app.screen_stack

    @work(exclusive=True)
    async def load(self) -> None:
        try:
            conv = await self.session.conversations.get(self.conversation_id)
        except ConvAIError as exc:
            if self.closed:
                return
            loaded(self.query_one("#tr-turns"))
            self.query_one("#tr-header", Static).update(
                Text(f"Could not load the conversation: {safe(str(exc))}", style="red"))
            self.app.notify(str(exc), title="Transcript", severity="error", markup=False)
            return
        if self.closed:
            return  # closed while the conversation was on its way
        self.show(conv)

    def _header(self) -> Text:
        conv = self.conv
        assert conv is not None
        md = conv.metadata
        head = Text()
        head.append(f"{one_line(conv.agent_name or conv.agent_id, 40)}", style="bold")
        head.append(f"  ·  {when(md.start_time_unix_secs)} UTC  ·  {mmss(md.call_duration_secs)}"
                    f"  ·  {len(conv.transcript)} turns  ·  {one_line(md.main_language or '?', 6)}  ·  status ")
        head.append(one_line(conv.status, 12), style="bold")
        fb = self.feedback
        if fb:
            head.append(f"  ·  feedback: {one_line(fb, 10)}", style="green" if fb == "like" else "red")
        head.append(f"\n{one_line(conv.conversation_id, 80)}", style="dim")
        return head

    def show(self, conv: Conversation) -> None:
        self.conv = conv
        md = conv.metadata
        self.feedback = md.feedback.overall_score if md.feedback else None
        self.query_one("#tr-header", Static).update(self._header())
        view = self.query_one("#tr-turns", TranscriptView)
        view.set_turns(conv.transcript)
        loaded(view)
        self.query_one("#tr-analysis", Static).update(analysis_text(conv.analysis))
        if conv.transcript:
            view.highlighted = min(self.start_turn or 0, len(conv.transcript) - 1)
        if self.search:
            self.query_one("#tr-search", Field).load(self.search)
            self.apply_search(self.search)
        view.focus()

    def _turn(self) -> int | None:
        return self.query_one("#tr-turns", TranscriptView).highlighted

    def action_test_from_turn(self) -> None:
        if self.conv is None:
            return
        idx = self._turn()
        if idx is None:
            self.app.notify("Highlight a turn first.", severity="warning")
            return
        try:
            self.session.tests.from_conversation(self.conv, idx, name="x", success_condition="x")
        except UsageError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        conv = self.conv

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.create_test(conv, idx, values)

        self.app.push_screen(CreateTestScreen(conv, idx), done)

    @work(group="create-test")
    async def create_test(self, conv: Conversation, upto: int, values: dict[str, Any]) -> None:
        try:
            test_id, body, where = await self.session.tests.create_from_conversation(conv, upto, **values)
        except (ConvAIError, UsageError) as exc:
            self.app.notify(str(exc), title="Test not created", severity="error", markup=False)
            return
        self.app.notify(f"Created test “{body.name}” ({test_id}), attached it to the agent; saved to {where}.",
                        markup=False)
        self.post_message(AgentChanged(conv.agent_id))

    def action_use_as_history(self) -> None:
        if self.conv is None:
            return
        idx = self._turn()
        turns = self.conv.transcript[: (idx if idx is not None else len(self.conv.transcript) - 1) + 1]
        self.post_message(UseAsHistory([t.to_wire() for t in turns], self.conv.conversation_id))

    @work(exclusive=True, group="feedback")
    async def action_feedback(self, value: str) -> None:
        try:
            await self.session.conversations.feedback(self.conversation_id, value)
        except ConvAIError as exc:
            self.app.notify(str(exc), title="Feedback", severity="error", markup=False)
            return
        self.feedback = value
        if self.conv is not None and not self.closed:
            self.query_one("#tr-header", Static).update(self._header())
        self.app.notify(f"Marked as {value}d.")
        self.post_message(FeedbackChanged(self.conversation_id, value))
