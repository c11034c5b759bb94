"""The convai-tui Textual app: four panes on one screen, an agent switcher, the command palette."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, cast

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label, Static, Tab, Tabs

from ..api.errors import ConvAIError, NotFoundError
from ..services.errors import UsageError
from ..services.session import Session, Settings
from ..services.targets import RunTarget
from ..textutil import one_line, safe
from ..timeline import mark
from .messages import AgentChanged, FeedbackChanged, OpenTranscript, ShowHistory, ShowMatrix, ShowPane, UseAsHistory
from .widgets.agent_switcher import AgentSwitcher
from .widgets.targets import TargetChoice

if TYPE_CHECKING:
    from ..api.models import Agent, Branch
    from .conversations.pane import ConversationsPane
    from .prompt.pane import PromptPane
    from .simulation.pane import SimulationPane
    from .tests.pane import TestsPane

PANES = ("conversations", "prompt", "simulation", "tests")
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 30
FIRST_ROWS_WAIT = 0.5  # seconds the other panes wait for the first rows before being built


class MainScreen(Screen):
    AUTO_FOCUS = None  # the conversations table takes focus once the panes exist

    @property
    def capp(self) -> "ConvaiApp":
        """The app that built this screen (they live in one module)."""
        return cast("ConvaiApp", self.app)
    BINDINGS = [
        Binding("1", "app.show_pane('conversations')", "Convs", show=False),
        Binding("2", "app.show_pane('prompt')", "Prompt", show=False),
        Binding("3", "app.show_pane('simulation')", "Sim", show=False),
        Binding("4", "app.show_pane('tests')", "Tests", show=False),
        Binding("alt+1", "app.show_pane('conversations')", "Convs", show=False, priority=True),
        Binding("alt+2", "app.show_pane('prompt')", "Prompt", show=False, priority=True),
        Binding("alt+3", "app.show_pane('simulation')", "Sim", show=False, priority=True),
        Binding("alt+4", "app.show_pane('tests')", "Tests", show=False, priority=True),
        Binding("a", "app.pick_agent", "Agent"),
    ]

    def compose(self) -> ComposeResult:
        # A warm start (the agent to open is known and its rows were shown last time): the
        # conversations pane is built for the first frame, with those rows, marked as cached.
        cached = self.capp.warm_rows()
        with Horizontal(id="topbar"):
            yield Label("convai-tui", id="brand")
            yield AgentSwitcher(id="agent-select")
            yield Label("starting…", id="conn")
        with Container(id="panes"):
            for i, p in enumerate(PANES):
                frame = Vertical(id=p, classes="pane -active" if i == 0 else "pane")
                frame.border_title = p.capitalize()
                with frame:
                    if p == "conversations" and cached is not None:
                        from .conversations.pane import ConversationsPane

                        yield ConversationsPane(self.capp.session, self.capp.first_rows, cached,
                                                id="conversations-body", classes="pane-body")
                    else:
                        yield Static("Loading…", classes="placeholder")
        yield Footer()

    def on_mount(self) -> None:
        # First frame: the layout and the pane titles. Everything else starts right after it.
        mark("screen-mounted")
        self.capp._layout()
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        # The API client is imported here, on this thread (in a worker thread it fought the pane
        # construction for the GIL and both took longer). The agent list request then goes out
        # and the conversations pane is built while it is in flight; the other three panes are
        # built after the first page of rows is on screen, so the first rows wait for nothing
        # but the conversations pane (see _build_rest).
        mark("first-frame")
        if not self.capp.no_key:
            from ..api import client, models  # noqa: F401  (here, on this thread: see above)

            mark("client-imported")
            self.capp.request_first_page()
        self.capp.boot()
        self.call_later(self._build_conversations)

    async def _mount_body(self, pane: str, body: Widget) -> None:
        frame = self.query_one(f"#{pane}")
        await frame.query(".placeholder").remove()
        await frame.mount(body)

    async def _build_conversations(self) -> None:
        from .conversations.pane import ConversationsPane

        capp = self.capp
        if not self.query(ConversationsPane):  # (a warm start built it for the first frame)
            await self._mount_body("conversations", ConversationsPane(
                capp.session, capp.first_rows, id="conversations-body", classes="pane-body"))
        mark("conversations-pane")
        self.capp.conversations_ready()
        self.run_worker(self._build_rest(), group="panes", exclusive=True)

    async def _next_frame(self) -> None:
        import asyncio

        done = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: done.done() or done.set_result(None))
        await done

    async def _build_rest(self) -> None:
        import asyncio

        # Wait for the first rows (or give up waiting after a moment: a slow API must not keep
        # the other panes from being built), then build one pane per frame so keys and the
        # first rows' frame are never held up behind the whole construction.
        capp = self.capp
        try:
            await asyncio.wait_for(capp.first_rows.wait(), FIRST_ROWS_WAIT)
        except asyncio.TimeoutError:
            pass
        await self._next_frame()  # the first rows go out before the imports below
        await capp.conversations_pane.mount_filters()
        await self._next_frame()
        from .prompt.pane import PromptPane
        from .simulation.pane import SimulationPane
        from .tests.pane import TestsPane

        for pane, cls in (("prompt", PromptPane), ("simulation", SimulationPane), ("tests", TestsPane)):
            await self._mount_body(pane, cls(capp.session, id=f"{pane}-body", classes="pane-body"))
            await self._next_frame()
        capp.main_ready()
        # Freeze start-up objects out of the collector's scans now, and again once the first
        # rows are in when the API was slower than the panes (see freeze_startup_objects).
        capp.freeze_startup_objects()
        if not capp.first_rows.is_set():
            await capp.first_rows.wait()
            capp.freeze_startup_objects()


class ConvaiApp(App):
    AUTO_FOCUS = None  # focus goes to the conversations table once it exists (see conversations_ready)
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "convai-tui"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "show_help_panel", "Keys", show=False),
    ]

    def __init__(self, session: Session, *, agent_id: str | None = None, no_key: bool | None = None,
                 compact: bool | None = None) -> None:
        super().__init__()
        self.session = session
        self.initial_agent = agent_id
        self.no_key = (not session.settings.has_key) if no_key is None else no_key
        self.force_compact = compact
        self.agent: Agent | None = None
        self._agent_requested: str | None = None  # the agent being opened (or open)
        self.crash_report = ""
        self.active_pane = "conversations"
        import asyncio

        self.conversations_mounted = asyncio.Event()  # the conversations pane exists
        self.first_rows = asyncio.Event()  # its first page is in (or failed)
        self.panes_ready = asyncio.Event()  # every pane exists

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification passes the sanitiser: API text in an error (an escape sequence, a BEL, an
        OSC 52 clipboard write) is shown, never sent to the terminal; the key never appears."""
        message = safe(self.session.redact(str(message)))
        title = safe(self.session.redact(str(title)))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # ------------------------------------------------------------------ layout
    def get_default_screen(self) -> Screen:
        if self.no_key:
            from .no_key import NoKeyScreen

            return NoKeyScreen()
        return MainScreen()

    def warm_rows(self) -> tuple[str, list[Any], float] | None:
        """(agent, rows, when saved) when the agent to open is known without a request and the rows
        last shown for it are in the display cache: what the first frame can show."""
        if self.no_key:
            return None
        agent = self.session.startup_agent(self.initial_agent)
        if agent is None:
            return None
        found = self.session.conversations.cached_rows(agent)
        mark("warm-cache-read")
        return (agent, *found) if found else None

    def conversations_ready(self) -> None:
        """Called by the main screen once the conversations pane is mounted (it comes first)."""
        self.conversations_mounted.set()
        self._focus_table_if_unfocused()

    def main_ready(self) -> None:
        """Called by the main screen once every pane's controls are mounted."""
        self._layout()
        self.panes_ready.set()
        self._focus_table_if_unfocused()  # a dialog may have been up when the table arrived

    def _focus_table_if_unfocused(self) -> None:
        if self.focused is None and self.screen is self._main():
            self.conversations_pane.table.focus()

    @staticmethod
    def freeze_startup_objects() -> None:
        """Everything alive once the app is up (modules, classes, the widget tree, an in-process
        emulator's seed data) lives as long as the app: move it out of the cyclic collector's
        scans. Otherwise every full collection walks all of it: 50-60 ms pauses, measured in
        the middle of test-grid polls and page loads. Later garbage is collected as usual, and
        calling this again (once the first rows are in) freezes what start-up added since.
        Also ends the start-up collector thresholds set by ``main`` (see ``startup``)."""
        from .. import startup

        startup.end()

    def on_mount(self) -> None:
        from .. import startup

        if startup.active():
            # The main screen ends start-up once its panes are built; this covers the screens
            # that never build them (no key) and an API that never answers.
            self.set_timer(5.0, self._end_startup_if_pending)

    def _end_startup_if_pending(self) -> None:
        from .. import startup

        if startup.active():
            self.freeze_startup_objects()

    def on_resize(self) -> None:
        self._layout()

    @property
    def compact(self) -> bool:
        if self.force_compact is not None:
            return self.force_compact
        return self.size.width < COMPACT_WIDTH or self.size.height < COMPACT_HEIGHT

    def _main(self) -> MainScreen | None:
        stack = self.screen_stack
        return stack[0] if stack and isinstance(stack[0], MainScreen) else None

    @property
    def main(self) -> MainScreen:
        main = self._main()
        assert main is not None, "the main screen is not up"
        return main

    def _layout(self) -> None:
        main = self._main()
        if main is None:
            return
        compact = self.compact
        if compact and not main.query("#pane-tabs") and main.query("#panes"):
            # The tab bar exists only once a small terminal needs it (it is not built for the
            # first frame of a wide one).
            tabs = Tabs(*[Tab(p.capitalize(), id=f"tab-{p}") for p in PANES], id="pane-tabs",
                        active=f"tab-{self.active_pane}")
            tabs.can_focus = False  # a mouse affordance in compact mode; keys 1-4 do the same
            main.mount(tabs, before="#panes")
        main.set_class(compact, "-compact")

    def _set_tab(self, pane: str) -> None:
        main = self._main()
        for tabs in main.query("#pane-tabs").results(Tabs) if main is not None else ():
            if tabs.active != f"tab-{pane}":
                tabs.active = f"tab-{pane}"

    def action_show_pane(self, pane: str) -> None:
        main = self._main()
        if main is None:
            return
        self.active_pane = pane
        for p in PANES:
            main.query_one(f"#{p}").set_class(p == pane, "-active")
        self._set_tab(pane)
        target = main.query_one(f"#{pane}")
        focusable = [w for w in target.query("*") if w.focusable]
        preferred = {"conversations": "#conv-table", "prompt": "#prompt-text", "simulation": "#sim-scenario",
                     "tests": "#tests-grid"}[pane]
        try:
            target.query_one(preferred).focus()
        except Exception:
            if focusable:
                focusable[0].focus()

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        pane = str(event.tab.id).removeprefix("tab-")
        if pane != self.active_pane:
            self.action_show_pane(pane)

    def on_descendant_focus(self, event: Any) -> None:
        # Track which pane holds focus (for compact mode and the tab bar).
        node = event.widget
        while node is not None:
            if getattr(node, "id", None) in PANES:
                if node.id != self.active_pane:
                    self.active_pane = node.id
                    main = self._main()
                    if main is not None:
                        for p in PANES:
                            main.query_one(f"#{p}").set_class(p == node.id, "-active")
                        self._set_tab(node.id)
                return
            node = node.parent

    # ------------------------------------------------------------------ panes
    @property
    def conversations_pane(self) -> ConversationsPane:
        from .conversations.pane import ConversationsPane

        return self.main.query_one(ConversationsPane)

    @property
    def prompt_pane(self) -> PromptPane:
        from .prompt.pane import PromptPane

        return self.main.query_one(PromptPane)

    @property
    def simulation_pane(self) -> SimulationPane:
        from .simulation.pane import SimulationPane

        return self.main.query_one(SimulationPane)

    @property
    def tests_pane(self) -> TestsPane:
        from .tests.pane import TestsPane

        return self.main.query_one(TestsPane)

    # ------------------------------------------------------------------ boot and agents
    def request_first_page(self) -> None:
        """When the agent to open is known without asking the API (--agent, the environment,
        default_agent, the only agent pulled, the last one used here), send the request for its
        first page now: right after the client exists, before the conversations pane is built and
        concurrently with the agent list, so the first rows cost one round trip. (With --demo the
        emulator starts first: boot does it then.)"""
        session = self.session
        try:
            if not session.start_now():
                return
        except ConvAIError:
            return  # boot reports it
        known = session.startup_agent(self.initial_agent)  # (a prediction, without the workspace models)
        if known:
            from ..services.conversations import LIST_PAGE

            session.conversations.prefetch_first_page(known, page_size=LIST_PAGE)

    @work(exclusive=True, group="boot")
    async def boot(self) -> None:
        conn = self.main.query_one("#conn", Label)
        session = self.session
        conn.update("connecting…" if not session.demo else "starting the demo emulator…")
        import asyncio

        from ..services.conversations import LIST_PAGE

        sel = self.main.query_one("#agent-select", AgentSwitcher)
        try:
            await session.start()
            # When the agent to open is known without asking the API (--agent, the environment,
            # default_agent, the only agent pulled, the last one used here), its first page is
            # requested now, concurrently with the agent list: the first rows cost one round trip.
            known = session.startup_agent(self.initial_agent)  # (a prediction, without the workspace models)
            if known:
                session.conversations.prefetch_first_page(known, page_size=LIST_PAGE)
                sel.value = known  # opens it (see _agent_picked); the name comes with the list
            listing = asyncio.ensure_future(session.agents.list_all())
            try:  # the rule itself (session.agent_id_or_none), while the list is on its way
                wanted = self.initial_agent or await asyncio.to_thread(session.agent_id_or_none, remembered=True)
            except BaseException:
                listing.cancel()
                raise
            if wanted and wanted != known:
                session.conversations.prefetch_first_page(wanted, page_size=LIST_PAGE)
                sel.value = wanted
            agents = await listing
            mark("agents")
        except ConvAIError as exc:
            conn.update(Text(f"⚠ {safe(session.redact(str(exc)))}", style="red"))
            self.notify(str(exc), title="Cannot reach the API", severity="error", timeout=15, markup=False)
            return
        label = session.server_label
        if not session.demo and session.settings.api_key:
            label += f" · key {session.settings.masked_key}"  # masked, never whole
        conn.update(Text(f"● {one_line(label, 90)}", style="green"))
        if session.demo:
            self.notify(f"The demo's workspace is {session.settings.workspace_dir}", title="Demo", timeout=6,
                        markup=False)
        for w in session.settings.warnings:
            self.notify(w, severity="warning", markup=False)
        sel.set_agents([(a.name or a.agent_id, a.agent_id) for a in agents])
        if not agents:
            self.notify("This account has no agents yet.", severity="warning")
            return
        ids = [a.agent_id for a in agents]
        first = wanted if wanted in ids else ids[0]
        if wanted and wanted not in ids:
            if wanted == session.settings.last_agent and wanted not in (self.initial_agent, session.settings.agent):
                await asyncio.to_thread(session.forget_agent, wanted)  # remembered, and gone since
            self.notify(f"Agent {wanted} not found; opened {first}.", severity="warning", markup=False)
        sel.value = first

    @on(AgentSwitcher.Changed, "#agent-select")
    def _agent_picked(self, event: AgentSwitcher.Changed) -> None:
        if event.value != self._agent_requested:
            self.load_agent(event.value)

    @on(AgentSwitcher.Clicked)
    def _switcher_clicked(self) -> None:
        self.action_pick_agent()

    def action_pick_agent(self) -> None:
        from .widgets.dialogs import PickScreen

        sel = self.main.query_one("#agent-select", AgentSwitcher)
        if not sel.agents:
            self.notify("The agent list is still loading.")
            return

        def picked(agent_id: str | None) -> None:
            if agent_id:
                sel.value = agent_id
                self.action_show_pane(self.active_pane)  # back into the pane, not the switcher

        self.push_screen(PickScreen("Switch agent", [(f"{one_line(n, 40)}  {i}", i) for n, i in sel.agents]), picked)

    def target_choices(self, agent: Agent, branches: list[Branch]) -> list[TargetChoice]:
        """What a run can target: the remote main branch, the editor's draft, each live branch, and each
        saved version (newest first). The draft and versions apply to the branch the workspace pulled."""
        prompts = self.session.prompts
        pulled = prompts.pulled_branch(agent.agent_id)
        pulled_name = next((b.name for b in branches if b.id == pulled), None) if pulled else None

        def draft() -> RunTarget:
            return RunTarget.for_draft(self.prompt_pane.current_draft(strict=True), branch_id=pulled,
                                       branch_name=pulled_name)

        choices = [TargetChoice("Remote (main)", "remote", RunTarget.remote, "remote"),
                   TargetChoice("Draft (the editor)", "draft", draft, "draft")]
        for b in branches:
            if b.id != agent.main_branch_id and not b.is_archived:
                choices.append(TargetChoice(f"Branch {one_line(b.name, 24)}", f"branch:{b.id}",
                                            lambda b=b: RunTarget.for_branch(b.id, b.name), "branch"))
        for v in reversed(prompts.versions(agent.agent_id)):
            choices.append(TargetChoice(f"{v.label} {one_line(v.message or v.source, 24)}", f"v{v.number}",
                                        lambda v=v: RunTarget.for_version(v.number, v.draft, branch_id=pulled,
                                                                          branch_name=pulled_name), "version"))
        return choices

    def load_agent(self, agent_id: str) -> Any:
        """Open ``agent_id`` in every pane (again, if it is open). Returns the worker."""
        self._agent_requested = agent_id
        return self._load_agent(agent_id)

    @work(exclusive=True, group="agent")
    async def _load_agent(self, agent_id: str) -> None:
        import asyncio

        await self.conversations_mounted.wait()
        # The conversation list needs only the id: start it now, not after the agent arrives.
        self.conversations_pane.load_agent(agent_id)
        try:
            agent, branches = await self.session.agents.with_branches(agent_id)
        except ConvAIError as exc:
            # an agent opened before the agent list came in (known from the settings or remembered) that
            # does not exist: boot says so (once) when the list is in, and opens another. Whether the list
            # came in before or after this 404 (a race), the only notice is boot's.
            listed = self.main.query_one("#agent-select", AgentSwitcher).agents
            if not (isinstance(exc, NotFoundError) and all(i != agent_id for _, i in listed)):
                self.notify(str(exc), title="Agent", severity="error", markup=False)
            return
        await asyncio.to_thread(self.session.remember_agent, agent_id)
        await self.panes_ready.wait()
        self.agent = agent
        self.sub_title = one_line(agent.name, 40)
        self.prompt_pane.load_agent(agent)  # records the remote as a version when new: before the choices
        choices = self.target_choices(agent, branches)
        self.simulation_pane.load_agent(agent, choices, self.session.simulations.scenarios(agent_id))
        self.tests_pane.load_agent(agent, choices)

    # ------------------------------------------------------------------ messages from panes and screens
    @on(OpenTranscript)
    def _open_transcript(self, event: OpenTranscript) -> None:
        self.open_transcript(event.conversation_id, event.turn)

    def open_transcript(self, conversation_id: str, turn: int | None = None) -> None:
        from .conversations.transcript import TranscriptScreen

        self.push_screen(TranscriptScreen(self.session, conversation_id, turn))

    @on(FeedbackChanged)
    def _feedback_changed(self, event: FeedbackChanged) -> None:
        self.conversations_pane.set_feedback(event.conversation_id, event.value)

    @on(UseAsHistory)
    def _use_as_history(self, event: UseAsHistory) -> None:
        if not self.panes_ready.is_set():
            return
        self.simulation_pane.use_partial_history(event.turns, event.conversation_id)
        self.notify(f"The current scenario now continues {len(event.turns)} turns of this conversation.")

    @on(AgentChanged)
    def _agent_changed(self, event: AgentChanged) -> None:
        if self.agent is not None and self.agent.agent_id == event.agent_id:
            self.load_agent(event.agent_id)

    @on(ShowPane)
    def _show(self, event: ShowPane) -> None:
        self.action_show_pane(event.pane)

    @on(ShowHistory)
    def _history(self, event: ShowHistory) -> None:
        self.open_history(event.agent_id)

    @on(ShowMatrix)
    def _matrix(self, event: ShowMatrix) -> None:
        self.open_matrix()

    def open_matrix(self) -> None:
        from .runs.matrix import MatrixScreen

        if self.agent is None:
            self.notify("No agent loaded yet.")
            return
        self.push_screen(MatrixScreen(self.session, self.agent.agent_id))

    def open_history(self, agent_id: str | None = None) -> None:
        from .runs.history import HistoryScreen

        agent_id = agent_id or (self.agent.agent_id if self.agent else None)
        if agent_id is None:
            self.notify("No agent loaded yet.")
            return
        self.push_screen(HistoryScreen(self.session, agent_id))

    # ------------------------------------------------------------------ branches
    def action_create_branch(self) -> None:
        from .widgets.dialogs import InputScreen

        if self.agent is not None:
            self.push_screen(InputScreen("Create branch", "Name of the new branch (from the current main version)",
                                         "e.g. confirm-times"), self._create_branch)

    @work(group="branches")
    async def _create_branch(self, name: str | None) -> None:
        if not name or self.agent is None:
            return
        try:
            bid, _ = await self.session.agents.create_branch(self.agent.agent_id, name)
        except ConvAIError as exc:
            self.notify(str(exc), title="Branch not created", severity="error", markup=False)
            return
        self.notify(f"Created branch {name} ({bid}).", markup=False)
        self.load_agent(self.agent.agent_id)

    def action_push_new_branch(self) -> None:
        from .widgets.dialogs import InputScreen

        if self.agent is None:
            return

        def go(name: str | None) -> None:
            if name:
                self.prompt_pane.push_to_new_branch(name)

        self.push_screen(InputScreen("Push to a new branch", "Name of the branch to create with the editor's prompt",
                                     "e.g. try-warmer-tone"), go)

    @work(group="branches")
    async def action_merge_branch(self) -> None:
        from .widgets.dialogs import PickScreen

        if self.agent is None:
            return
        agent_id = self.agent.agent_id
        try:
            branches = [b for b in await self.session.agents.branches(agent_id)
                        if b.id != self.agent.main_branch_id and not b.is_archived]
        except ConvAIError as exc:
            self.notify(str(exc), title="Branches", severity="error", markup=False)
            return
        if not branches:
            self.notify("This agent has no branch to merge.")
            return
        picked = await self.push_screen_wait(PickScreen("Merge into main", [
            (f"{one_line(b.name, 30)} — {one_line(b.description, 50)}", b.id) for b in branches]))
        if not picked:
            return
        try:
            await self.session.agents.merge(agent_id, picked)
        except (ConvAIError, UsageError) as exc:
            self.notify(str(exc), title="Merge failed", severity="error", markup=False)
            return
        self.notify("Merged into main; the prompt pane shows the new main version.")
        self.load_agent(agent_id)

    # ------------------------------------------------------------------ command palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        yield SystemCommand("Switch agent", "Pick another agent", self.action_pick_agent)
        for p in PANES:
            yield SystemCommand(f"Go to {p.capitalize()}", f"Focus the {p} pane",
                                lambda p=p: self.action_show_pane(p))
        # a pane's commands exist once the pane does (the panes are built just after the first frame)
        if self.conversations_mounted.is_set():
            yield SystemCommand("Refresh conversations", "Reload the conversation list",
                                self.conversations_pane.action_refresh)
            yield SystemCommand("Search messages", "Full-text search in transcripts",
                                self.conversations_pane.action_focus_search)
        if not self.panes_ready.is_set():
            return
        yield SystemCommand("Save prompt version", "Keep the editor's content as a new version",
                            self.prompt_pane.action_save_version)
        yield SystemCommand("Prompt versions", "List saved versions and restore one",
                            self.prompt_pane.action_versions)
        yield SystemCommand("Revert prompt", "Back to the last saved version", self.prompt_pane.action_revert)
        yield SystemCommand("Diff prompt versions", "Side by side: any two versions, remote or the editor",
                            self.prompt_pane.action_diff)
        yield SystemCommand("Pull prompt and tests", "Fetch the remote prompt (as a version) and tests",
                            self.prompt_pane.action_pull)
        yield SystemCommand("Push prompt", "PATCH the editor's prompt to the agent (refuses to clobber)",
                            self.prompt_pane.action_push)
        yield SystemCommand("Create branch", "A new agent branch from the current main version",
                            self.action_create_branch)
        yield SystemCommand("Push prompt to a new branch", "Create a branch and PATCH the editor's prompt to it",
                            self.action_push_new_branch)
        yield SystemCommand("Merge branch into main", "Merge one of the agent's branches into main",
                            self.action_merge_branch)
        yield SystemCommand("Run simulation", "Run the selected scenario", self.simulation_pane.action_run)
        yield SystemCommand("A/B simulation", "Same scenario, two prompt versions", self.simulation_pane.action_ab)
        yield SystemCommand("Cancel simulation", "Stop the running simulation", self.simulation_pane.action_cancel)
        yield SystemCommand("Edit scenario", "Persona, mocks, criteria, history, limit",
                            self.simulation_pane.action_edit)
        yield SystemCommand("Run tests", "Run the agent's tests", self.tests_pane.action_run)
        yield SystemCommand("Retry failed tests", "Rerun only the failed runs of the last run (same target)",
                            self.tests_pane.action_retry)
        yield SystemCommand("Run history", "Every test and simulation run: open one as it was, compare two",
                            self.open_history)
        yield SystemCommand("Test × version matrix", "Pass rates per test and prompt version; fill gaps; bisect",
                            self.open_matrix)
        yield SystemCommand("Cancel test run", "Cancel the running invocation", self.tests_pane.action_cancel)

    async def on_unmount(self) -> None:
        import gc

        await self.session.close()
        gc.unfreeze()  # an app run inside a longer process (the tests) leaves nothing pinned

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """The SVG, with its element-id prefix derived from what it shows.

        Rich derives the prefix from ``repr()`` of every segment, so two pictures that are the same
        to the eye (and to the SVG's CSS) can differ in it; screenshots in git and snapshot tests
        should only change when the picture does."""
        import re
        import zlib

        svg = super().export_screenshot(title=title, simplify=simplify)
        ids = set(re.findall(r"terminal-\d+", svg))
        if len(ids) == 1:
            body = svg.replace(ids.pop(), "terminal-X")
            svg = body.replace("terminal-X", f"terminal-{zlib.adler32(body.encode('utf-8'))}")
        return svg

    def _fatal_error(self) -> None:
        """A crash report without local variables (they could hold the API key), key redacted."""
        import sys

        from rich.segment import Segments
        from rich.text import Text as RichText
        from rich.traceback import Traceback

        self.bell()
        exc = self._exception or sys.exc_info()[1]
        if exc is None:
            return super()._fatal_error()
        tb = Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=False, width=None)
        lines = self.console.render_lines(tb, self.console.options, pad=False)
        text = "\n".join("".join(seg.text for seg in line) for line in lines)
        text = self.session.redact(text)
        self.crash_report = text
        self._exit_renderables.append(Segments(self.console.render(RichText(text), self.console.options)))
        self._close_messages_no_wait()


def run_tui(settings: Settings) -> int:
    mark("tui-imported")
    app = ConvaiApp(Session(settings))
    app.run()
    return app.return_code or 0
