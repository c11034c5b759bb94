"""Screens and dialogs: transcript, create-test form, scenario editor, run detail, versions, key help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from ..api.errors import ConvAIError
from ..textutil import one_line, safe
from ..workspace.scenarios import Scenario
from ..workspace.versions import PromptVersion
from .render import analysis_text, mmss, result_text, turn_text, when
from .transcript_view import TranscriptView

if TYPE_CHECKING:
    from ..api.models import Conversation, TestRun
    from .app import ConvaiApp


class TranscriptScreen(Screen):
    """One conversation: turns (with tool calls), analysis, data collection."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "test_from_turn", "Test from here"),
        Binding("h", "use_as_history", "Use as sim history"),
        Binding("l", "feedback('like')", "Like"),
        Binding("d", "feedback('dislike')", "Dislike"),
    ]

    def __init__(self, conversation_id: str, turn: int | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.start_turn = turn
        self.conv: Conversation | None = None

    @property
    def capp(self) -> "ConvaiApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Conversation {safe(self.conversation_id)}", style="bold"), id="tr-header")
        with Horizontal(id="tr-body"):
            view = TranscriptView(id="tr-turns")
            view.border_title = "Transcript"
            yield view
            with VerticalScroll(id="tr-side") as side:
                side.border_title = "Analysis"
                yield Static("", id="tr-analysis")
        yield Footer()

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
            conv = await self.capp.backend.conversation(self.conversation_id)
        except ConvAIError as exc:
            if self.closed:
                return
            self.query_one("#tr-turns").loading = False
            self.query_one("#tr-header", Static).update(Text(f"Could not load the conversation: {exc}", style="red"))
            self.app.notify(str(exc), title="Transcript", severity="error", markup=False)
            return
        if self.closed:
            return  # closed while the conversation was on its way
        self.show(conv)

    def show(self, conv: Conversation) -> None:
        self.conv = conv
        md = conv.metadata
        head = Text()
        head.append(f"{one_line(conv.agent_name or conv.agent_id, 40)}", style="bold")
        head.append(f"  ·  {when(md.start_time_unix_secs)} UTC  ·  {mmss(md.call_duration_secs)}"
                    f"  ·  {len(conv.transcript)} turns  ·  {one_line(md.main_language or '?', 6)}  ·  status ")
        head.append(one_line(conv.status, 12), style="bold")
        fb = md.feedback.overall_score if md.feedback else None
        if fb:
            head.append(f"  ·  feedback: {one_line(fb, 10)}", style="green" if fb == "like" else "red")
        head.append(f"\n{safe(conv.conversation_id)}", style="dim")
        self.query_one("#tr-header", Static).update(head)
        view = self.query_one("#tr-turns", TranscriptView)
        view.set_turns(conv.transcript)
        view.loading = False
        self.query_one("#tr-analysis", Static).update(analysis_text(conv.analysis))
        if conv.transcript:
            view.highlighted = min(self.start_turn or 0, len(conv.transcript) - 1)
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
            self.capp.backend.test_from_conversation(self.conv, idx, name="x", success_condition="x")
        except ValueError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        conv = self.conv

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.capp.create_test_from_conversation(conv, idx, values)

        self.app.push_screen(CreateTestScreen(conv, idx), done)

    def action_use_as_history(self) -> None:
        if self.conv is None:
            return
        idx = self._turn()
        turns = self.conv.transcript[: (idx if idx is not None else len(self.conv.transcript) - 1) + 1]
        self.capp.use_partial_history([t.to_wire() for t in turns], self.conv.conversation_id)

    @work(exclusive=True, group="feedback")
    async def action_feedback(self, value: str) -> None:
        try:
            await self.capp.backend.feedback(self.conversation_id, value)
        except ConvAIError as exc:
            self.app.notify(str(exc), title="Feedback", severity="error", markup=False)
            return
        self.app.notify(f"Marked as {value}d.")
        self.capp.feedback_changed(self.conversation_id, value)


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
            yield Input(value=one_line(f"From {self.conv.conversation_id[:14]} turn {self.upto}", 60), id="ct-name")
            yield Label("Success condition (what the next agent reply must do)")
            yield Input(placeholder="e.g. The agent confirms the booking time.", id="ct-condition")
            yield Label("Success example (optional)")
            yield Input(id="ct-success")
            yield Label("Failure example (optional)")
            yield Input(id="ct-failure")
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
            yield Input(s.name, id="sc-name")
            yield Label("Simulated user persona (prompt)")
            yield TextArea(s.persona, id="sc-persona", soft_wrap=True, classes="short")
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("First message (optional)")
                    yield Input(s.first_message, id="sc-first")
                with Vertical(classes="narrow"):
                    yield Label("Language")
                    yield Input(s.language, placeholder="en", id="sc-lang")
                with Vertical(classes="narrow"):
                    yield Label("Turn limit")
                    yield Input(str(s.turn_limit), id="sc-limit", type="integer")
            yield Label("Tool mocks: one per line, `tool_name = return value` (prefix ! for an error)")
            yield TextArea(s.mocks_text(), id="sc-mocks", classes="short")
            yield Label("Extra evaluation criteria: one per line, `id: goal`")
            yield TextArea(s.criteria_text(), id="sc-criteria", classes="short")
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


class RunDetailScreen(ModalScreen[None]):
    """A test run: status, condition, rationale and the agent's responses."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("q", "dismiss", "Close", show=False)]

    def __init__(self, run: TestRun, condition: str, repeat: int) -> None:
        super().__init__()
        self.run = run
        self.condition = condition
        self.repeat = repeat

    def compose(self) -> ComposeResult:
        r = self.run
        t = Text()
        t.append(one_line(r.test_name or r.test_id, 80), style="bold")
        t.append(f"   run #{self.repeat + 1}   ")
        t.append_text(result_text(r.status))
        t.append("\n\nCondition: ", style="bold")
        t.append(safe(self.condition) or "—")
        cr = r.condition_result
        if cr is not None:
            t.append("\n\nVerdict: ", style="bold")
            t.append_text(result_text(cr.result))
            if cr.rationale:
                if cr.rationale.summary:
                    t.append("\n" + safe(cr.rationale.summary), style="italic")
                for m in cr.rationale.messages or []:
                    t.append("\n  • " + safe(m))
        elif r.status == "pending":
            t.append("\n\nStill running…", style="yellow")
        t.append("\n\nAgent responses:\n", style="bold")
        for i, turn in enumerate(r.agent_responses or []):
            t.append_text(turn_text(turn, i))
            t.append("\n")
        if not r.agent_responses:
            t.append("—\n", style="dim")
        with VerticalScroll(classes="dialog wide") as d:
            d.border_title = "Test run"
            yield Static(t)
            yield Button("Close", id="rd-close")

    @on(Button.Pressed, "#rd-close")
    def _close(self) -> None:
        self.dismiss(None)


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


class ABScreen(ModalScreen[tuple[str, str] | None]):
    """Pick the two prompt versions an A/B simulation compares."""

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


class NoKeyScreen(Screen):
    """Shown instead of the app when no API key is configured."""

    BINDINGS = [Binding("q", "app.quit", "Quit"), Binding("escape", "app.quit", "Quit", show=False)]

    def compose(self) -> ComposeResult:
        t = Text()
        t.append("No API key configured\n\n", style="bold red")
        t.append("convai-tui talks to the ElevenLabs ConvAI API and needs a key. Either:\n\n")
        t.append("  export ELEVENLABS_API_KEY=…      ", style="bold")
        t.append("then run convai-tui again\n")
        t.append("  convai-tui --api-key-file PATH   ", style="bold")
        t.append("read it from a file\n")
        t.append("  convai-tui --demo                ", style="bold")
        t.append("use the bundled offline emulator with demo data\n\n")
        t.append("Optional: ELEVENLABS_BASE_URL or --base-url for another region or server.\n", style="dim")
        t.append("The key is never written to disk, logs or screenshots.", style="dim")
        with Vertical(classes="dialog"):
            yield Static(t)
        yield Footer()


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


class ConflictScreen(ModalScreen[str | None]):
    """The remote changed since the last pull: base, remote and local, and what to do."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, conflict: Any) -> None:
        super().__init__()
        self.c = conflict

    def _diff(self, title: str, a: Any, b: Any, la: str, lb: str) -> Text:
        from ..workspace.diff import unified
        from .diffview import as_text

        t = Text(title + "\n", style="bold")
        lines = unified(as_text(a), as_text(b), la, lb)
        for ln in lines[2:] if len(lines) > 2 else ["(no change)"]:
            style = "green" if ln.startswith("+") else "red" if ln.startswith("-") else (
                "cyan" if ln.startswith("@@") else "")
            t.append(safe(ln) + "\n", style=style)
        return t

    def compose(self) -> ComposeResult:
        c = self.c
        with VerticalScroll(classes="dialog wide") as d:
            d.border_title = "Push refused: the remote changed"
            yield Static(Text(str(c), style="yellow"))
            yield Static(self._diff("Remote changes since your pull (base → remote):", c.base, c.remote,
                                    "base", "remote"))
            yield Static(self._diff("Your changes (base → local):", c.base, c.local, "base", "local"))
            with Horizontal(classes="buttons"):
                yield Button("Pull remote (keeps your edit)", variant="primary", id="cf-pull")
                yield Button("Force push", variant="error", id="cf-force")
                yield Button("Cancel", id="cf-cancel")

    @on(Button.Pressed, "#cf-pull")
    def _pull(self) -> None:
        self.dismiss("pull")

    @on(Button.Pressed, "#cf-force")
    def _force(self) -> None:
        self.dismiss("force")

    @on(Button.Pressed, "#cf-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


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
