"""The convai-tui Textual app: four panes on one screen, an agent switcher, the command palette."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, cast

from rich.text import Text
from textual import events, on, work
from textual.actions import SkipAction
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
from .messages import (AgentChanged, CopyText, FeedbackChanged, OpenTranscript, ShowHistory, ShowMatrix, ShowPane,
                       UseAsHistory)
from .terminal import Clipboard, meta_digits_as_alt
from .widgets.agent_switcher import AgentSwitcher
from .widgets.fields import is_text_widget, plain_key
from .widgets.targets import TargetChoice

if TYPE_CHECKING:
    from ..api.models import Agent, Branch
    from .conversations.pane import ConversationsPane
    from .prompt.pane import PromptPane
    from .simulation.pane import SimulationPane
    from .tests.pane import TestsPane

PANES = ("conversations", "prompt", "simulation", "tests")
PREFERRED_FOCUS = {"conversations": "#conv-table", "prompt": "#prompt-text", "simulation": "#sim-scenario",
                   "tests": "#tests-grid"}
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 30
FIRST_ROWS_WAIT = 0.5  # seconds the other panes wait for the first rows before being built


class PaneFrame(Vertical):
    """One pane's frame (title, border, the dirty marker): what zoom maximizes."""

    ALLOW_MAXIMIZE = True


def _pane_keys() -> list[Binding]:
    keys = []
    for i, p in enumerate(PANES, 1):
        what = f"Go to the {p.capitalize()} pane"
        keys.append(Binding(str(i), f"app.show_pane('{p}')", p.capitalize(), show=False, tooltip=what))
        # alt+N works while typing too (priority: before a text field sees it)
        keys.append(Binding(f"alt+{i}", f"app.show_pane('{p}')", p.capitalize(), show=False, priority=True,
                            tooltip=what))
    return keys


class MainScreen(Screen):
    AUTO_FOCUS = None  # the conversations table takes focus once the panes exist
    # a zoomed pane keeps the top bar (agent, server) and the footer (keys)
    ALLOW_IN_MAXIMIZED_VIEW = "#topbar, Footer"
    ESCAPE_TO_MINIMIZE = False  # Esc leaves a text field; it restores a zoomed pane only outside one

    @property
    def capp(self) -> "ConvaiApp":
        """The app that built this screen (they live in one module)."""
        return cast("ConvaiApp", self.app)
    BINDINGS = [
        *_pane_keys(),
        Binding("z", "app.zoom", "Zoom", tooltip="Zoom the pane to the whole screen, or back"),
        Binding("escape", "app.unzoom", "Unzoom", show=False, tooltip="Back from a zoomed pane"),
        Binding("a", "app.pick_agent", "Agent", tooltip="Switch agent"),
    ]

    def on_key(self, event: events.Key) -> None:
        """alt+key outside a text field: the same as key (a text field does this itself, see fields)."""
        replay = plain_key(event)
        focused = self.focused
        if replay is not None and focused is not None and not is_text_widget(focused):
            event.stop()
            focused.post_message(replay)

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
                frame = PaneFrame(id=p, classes="pane -active" if i == 0 else "pane")
                frame.border_title = p.capitalize()
                with frame:
                    if p == "conversations" and cached is not None:
                        from .conversations.pane import ConversationsPane

                        yield ConversationsPane(self.capp.session, self.capp.first_rows, cached,
                                                id="conversations-body", classes="pane-body")
                    else:
                        yield Static("Loading…", classes="placeholder")
        yield Footer(compact=True)

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
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="These keys"),
        Binding("f1", "help", "Keys", show=False, priority=True, tooltip="These keys"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, tooltip="Quit"),
    ]

    def __init__(self, session: Session, *, agent_id: str | None = None, no_key: bool | None = None,
                 compact: bool | None = None) -> None:
        super().__init__()
        meta_digits_as_alt()  # ESC 3 (tmux/screen alt+3) is alt+3, not "£"
        self.session = session
        self.clipboard_ = Clipboard(self)
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
        self._focus_active_pane_if_unfocused()

    def main_ready(self) -> None:
        """Called by the main screen once every pane's controls are mounted."""
        self._layout()
        self.panes_ready.set()
        # a dialog may have been up when the table arrived, or a pane key pressed before its pane was built
        self._focus_active_pane_if_unfocused()

    def _focus_active_pane_if_unfocused(self) -> None:
        """Focus the active pane when nothing has focus, or when what has it is in a pane that is hidden
        (a key for a pane arrived before its pane was built, and a widget of another pane took focus
        meanwhile: the next keys would go to a hidden widget)."""
        main = self._main()
        if main is None or self.screen is not main:
            return
        focused = main.focused
        if focused is None:
            self._focus_pane(self.active_pane)
            return
        frames = [main.query_one(f"#{p}") for p in PANES]
        home = next((f for f in frames if f in focused.ancestors_with_self), None)
        if home is not None and home.id != self.active_pane:
            self._focus_pane(self.active_pane)

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
                with tabs.prevent(Tabs.TabActivated):  # not reported back to _tab
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
        if main.maximized is not None and main.maximized is not target:
            main.maximize(target, container=False)  # a zoomed view stays zoomed, on the new pane
        self._focus_pane(pane)

    def _focus_pane(self, pane: str) -> None:
        """Focus the pane's main widget, now (the next key goes there, not to the pane just hidden). A pane
        still being built gets the focus once it is (see main_ready); until then nothing hidden has it."""
        main = self._main()
        if main is None:
            return
        target = main.query_one(f"#{pane}")
        for selector in (PREFERRED_FOCUS[pane], f"#{pane}-body", "*"):
            widget = next((w for w in target.query(selector) if w.focusable), None)
            if widget is not None:
                main.set_focus(widget)
                return
        main.set_focus(None)

    def action_zoom(self) -> None:
        """Zoom the active pane to the whole screen (top bar and keys stay), or back."""
        main = self._main()
        if main is None or self.screen is not main:
            return
        if main.maximized is not None:
            main.minimize()
        else:
            main.maximize(main.query_one(f"#{self.active_pane}"), container=False)

    def action_unzoom(self) -> None:
        main = self._main()
        if main is None or main.maximized is None:
            raise SkipAction()
        main.minimize()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unzoom":
            main = self._main()
            return main is not None and main.maximized is not None
        return True

    def action_help(self) -> None:
        from .widgets.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        session = self.session
        about = [f"Workspace: {session.settings.workspace_dir}"]
        if session.settings.has_key:
            server = session.server_label
            if not session.demo and session.settings.api_key:
                server += f" · key {session.settings.masked_key}"  # masked, never whole
            about.insert(0, f"Server: {server}")
        self.push_screen(HelpScreen(self.screen, self.screen.focused, [safe(a) for a in about]))

    @on(CopyText)
    def _copy(self, event: CopyText) -> None:
        self.clipboard_.copy(event.text, event.what)

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        # (a click on a tab; one that is no longer the active tab when it gets here is stale: keys
        # switched panes since, and following it would bounce back)
        pane = str(event.tab.id).removeprefix("tab-")
        if pane != self.active_pane and event.tab.id == event.tabs.active:
            self.action_show_pane(pane)

    def on_descendant_focus(self, event: Any) -> None:
        # Track which pane holds focus (a click, Tab): for compact mode and the tab bar. A focus that
        # has already moved on when this arrives is stale (following it would bounce panes).
        node = event.widget
        if node is not self.screen.focused:
            return
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
        self.open_transcript(event.conversation_id, event.turn, event.search)

    def open_transcript(self, conversation_id: str, turn: int | None = None, search: str = "") -> None:
        from .conversations.transcript import TranscriptScreen

        self.push_screen(TranscriptScreen(self.session, conversation_id, turn, search))

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
        for command in super().get_system_commands(screen):
            if command.title != "Keys":  # Textual's key panel: ours (F1) lists the app's keys
                yield command
        yield SystemCommand("Keys", "The keys of what has focus, and the global ones (? or F1)", self.action_help)
        if not isinstance(screen, MainScreen):
            return
        yield SystemCommand("Zoom pane", "The pane to the whole screen, or back (z)", self.action_zoom)
        yield SystemCommand("Switch agent", "Pick another agent", self.action_pick_agent)
        for p in PANES:
            yield SystemCommand(f"Go to {p.capitalize()}", f"Focus the {p} pane",
                                lambda p=p: self.action_show_pane(p))
        # a pane's commands exist once the pane does (the panes are built just after the first frame)
        if self.conversations_mounted.is_set():
            yield SystemCommand("Refresh conversations", "Reload the conversation list",
                                self.conversations_pane.action_refresh)
            yield SystemCommand("Search conversations", "Full-text search, with the filters",
                                self.conversations_pane.action_focus_search)
        if not self.panes_ready.is_set():
            return
        yield SystemCommand("Save prompt version", "Keep the editor's content as a new version",
                            self.prompt_pane.action_save_version)
        yield SystemCommand("Prompt versions", "List saved versions and restore one",
                            self.prompt_pane.action_versions)
        yield SystemCommand("Revert prompt", "Back to the last saved version (asks first)",
                            self.prompt_pane.action_revert)
        yield SystemCommand("Edit the prompt in $EDITOR", "Your editor ($VISUAL, $EDITOR) in this terminal",
                            self.prompt_pane.action_external_editor)
        yield SystemCommand("Copy the prompt", "To the clipboard, through the terminal (OSC 52)",
                            self.prompt_pane.action_copy)
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
