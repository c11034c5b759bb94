"""The convai-tui Textual app: four panes on one screen, an agent switcher, the command palette."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.message import Message
from textual.widgets import Footer, Label, Static, Tab, Tabs

from ..api.errors import ConvAIError
from ..services import Backend, RunTarget
from ..textutil import one_line
from ..timeline import mark

if TYPE_CHECKING:
    from ..api.models import Agent, Conversation
    from ..workspace.scenarios import Scenario
    from .conversations import ConversationsPane
    from .prompt import PromptPane
    from .simulation import SimulationPane
    from .tests_grid import TestsPane

PANES = ("conversations", "prompt", "simulation", "tests")
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 30
FIRST_ROWS_WAIT = 0.5  # seconds the other panes wait for the first rows before being built


class AgentSwitcher(Static):
    """The agent in use; `a` anywhere or a click opens the list (lighter than a Select). It takes
    no keyboard focus, so Enter always belongs to the pane you are in."""

    class Changed(Message):
        def __init__(self, switcher: "AgentSwitcher", value: str) -> None:
            super().__init__()
            self.switcher, self.value = switcher, value

        @property
        def control(self) -> "AgentSwitcher":
            return self.switcher

    def __init__(self, **kw: Any) -> None:
        super().__init__(Text("Agent… ▾", style="dim"), **kw)
        self.agents: list[tuple[str, str]] = []  # (name, id)
        self._value: str | None = None

    def set_agents(self, agents: list[tuple[str, str]]) -> None:
        self.agents = agents

    @property
    def value(self) -> str | None:
        return self._value

    @value.setter
    def value(self, agent_id: str) -> None:
        name = next((n for n, i in self.agents if i == agent_id), agent_id)
        self.update(Text(f"{one_line(name, 36)} ▾"))
        if agent_id != self._value:
            self._value = agent_id
            self.post_message(self.Changed(self, agent_id))

    def on_click(self) -> None:
        self.app.action_pick_agent()  # type: ignore[attr-defined]


class MainScreen(Screen):
    AUTO_FOCUS = None  # the conversations table takes focus once the panes exist
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
        with Horizontal(id="topbar"):
            yield Label("convai-tui", id="brand")
            yield AgentSwitcher(id="agent-select")
            yield Label("starting…", id="conn")
        with Container(id="panes"):
            for i, p in enumerate(PANES):
                frame = Vertical(id=p, classes="pane -active" if i == 0 else "pane")
                frame.border_title = p.capitalize()
                with frame:
                    yield Static("Loading…", classes="placeholder")
        yield Footer()

    def on_mount(self) -> None:
        # First frame: the layout and the pane titles. Everything else starts right after it.
        mark("screen-mounted")
        self.app._layout()  # type: ignore[attr-defined]
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        # The API client is imported here, on this thread (in a worker thread it fought the pane
        # construction for the GIL and both took longer). The agent list request then goes out
        # and the conversations pane is built while it is in flight; the other three panes are
        # built after the first page of rows is on screen, so the first rows wait for nothing
        # but the conversations pane (see _build_rest).
        mark("first-frame")
        if not self.app.no_key:  # type: ignore[attr-defined]
            from ..services import _import_client

            _import_client()
            mark("client-imported")
        self.app.boot()  # type: ignore[attr-defined]
        self.call_later(self._build_conversations)

    async def _mount_body(self, pane: str, cls: type[Widget]) -> None:
        frame = self.query_one(f"#{pane}")
        await frame.query(".placeholder").remove()
        await frame.mount(cls(id=f"{pane}-body", classes="pane-body"))

    async def _build_conversations(self) -> None:
        from .conversations import ConversationsPane

        await self._mount_body("conversations", ConversationsPane)
        mark("conversations-pane")
        self.app.conversations_ready()  # type: ignore[attr-defined]
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
        capp = self.app
        try:
            await asyncio.wait_for(capp.first_rows.wait(), FIRST_ROWS_WAIT)  # type: ignore[attr-defined]
        except asyncio.TimeoutError:
            pass
        await self._next_frame()  # the first rows go out before the imports below
        await capp.conversations_pane.mount_filters()  # type: ignore[attr-defined]
        await self._next_frame()
        from .prompt import PromptPane
        from .simulation import SimulationPane
        from .tests_grid import TestsPane

        for pane, cls in (("prompt", PromptPane), ("simulation", SimulationPane), ("tests", TestsPane)):
            await self._mount_body(pane, cls)
            await self._next_frame()
        capp.main_ready()  # type: ignore[attr-defined]
        # Freeze start-up objects out of the collector's scans now, and again once the first
        # rows are in when the API was slower than the panes (see freeze_startup_objects).
        capp.freeze_startup_objects()  # type: ignore[attr-defined]
        if not capp.first_rows.is_set():  # type: ignore[attr-defined]
            await capp.first_rows.wait()  # type: ignore[attr-defined]
            capp.freeze_startup_objects()  # type: ignore[attr-defined]


class ConvaiApp(App):
    AUTO_FOCUS = None  # focus goes to the conversations table once it exists (see conversations_ready)
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "convai-tui"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "show_help_panel", "Keys", show=False),
    ]

    def __init__(self, backend: Backend, *, agent_id: str | None = None, no_key: bool = False,
                 compact: bool | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.initial_agent = agent_id
        self.no_key = no_key
        self.force_compact = compact
        self.agent: Agent | None = None
        self.crash_report = ""
        self.active_pane = "conversations"
        import asyncio

        self.conversations_mounted = asyncio.Event()  # the conversations pane exists
        self.first_rows = asyncio.Event()  # its first page is in (or failed)
        self.panes_ready = asyncio.Event()  # every pane exists

    # ------------------------------------------------------------------ layout
    def get_default_screen(self) -> Screen:
        if self.no_key:
            from .screens import NoKeyScreen

            return NoKeyScreen()
        return MainScreen()

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
        from .conversations import ConversationsPane

        return self.main.query_one(ConversationsPane)

    @property
    def prompt_pane(self) -> PromptPane:
        from .prompt import PromptPane

        return self.main.query_one(PromptPane)

    @property
    def simulation_pane(self) -> SimulationPane:
        from .simulation import SimulationPane

        return self.main.query_one(SimulationPane)

    @property
    def tests_pane(self) -> TestsPane:
        from .tests_grid import TestsPane

        return self.main.query_one(TestsPane)

    # ------------------------------------------------------------------ boot and agents
    @work(exclusive=True, group="boot")
    async def boot(self) -> None:
        conn = self.main.query_one("#conn", Label)
        conn.update("connecting…" if not self.backend.demo else "starting the demo emulator…")
        try:
            await self.backend.start()
            agents = await self.backend.agents()
            mark("agents")
        except ConvAIError as exc:
            conn.update(Text(f"⚠ {exc}", style="red"))
            self.notify(str(exc), title="Cannot reach the API", severity="error", timeout=15, markup=False)
            return
        label = self.backend.label
        if not self.backend.demo and self.backend.api_key:
            k = self.backend.api_key
            label += f" · key {k[:3]}…{k[-2:]}" if len(k) > 10 else " · key ****"  # masked, never whole
        conn.update(Text(f"● {one_line(label, 60)}", style="green"))
        sel = self.main.query_one("#agent-select", AgentSwitcher)
        sel.set_agents([(a.name or a.agent_id, a.agent_id) for a in agents])
        if not agents:
            self.notify("This account has no agents yet.", severity="warning")
            return
        ids = [a.agent_id for a in agents]
        first = self.initial_agent if self.initial_agent in ids else ids[0]
        if self.initial_agent and self.initial_agent not in ids:
            self.notify(f"Agent {self.initial_agent} not found; opened {first}.", severity="warning", markup=False)
        sel.value = first

    @on(AgentSwitcher.Changed, "#agent-select")
    def _agent_picked(self, event: AgentSwitcher.Changed) -> None:
        if self.agent is None or self.agent.agent_id != event.value:
            self.load_agent(event.value)

    def action_pick_agent(self) -> None:
        from .screens import PickScreen

        sel = self.main.query_one("#agent-select", AgentSwitcher)
        if not sel.agents:
            self.notify("The agent list is still loading.")
            return

        def picked(agent_id: str | None) -> None:
            if agent_id:
                sel.value = agent_id
                self.action_show_pane(self.active_pane)  # back into the pane, not the switcher

        self.push_screen(PickScreen("Switch agent", [(f"{one_line(n, 40)}  {i}", i) for n, i in sel.agents]), picked)

    @work(exclusive=True, group="agent")
    async def load_agent(self, agent_id: str) -> None:
        import asyncio

        await self.conversations_mounted.wait()
        # The conversation list needs only the id: start it now, not after the agent arrives.
        self.conversations_pane.load_agent(agent_id)
        try:
            agent, branches = await asyncio.gather(self.backend.agent(agent_id), self.backend.branches(agent_id))
        except ConvAIError as exc:
            self.notify(str(exc), title="Agent", severity="error", markup=False)
            return
        await self.panes_ready.wait()
        self.agent = agent
        self.sub_title = one_line(agent.name, 40)
        targets: list[tuple[str, RunTarget]] = [("Local draft", RunTarget("draft", label="local draft")),
                                                ("Remote (main)", RunTarget("remote", label="remote agent"))]
        for b in branches:
            if b.id != agent.main_branch_id and not b.is_archived:
                targets.append((f"Branch {one_line(b.name, 24)}",
                                RunTarget("branch", branch_id=b.id, label=f"branch {b.name}")))
        self.prompt_pane.load_agent(agent)
        # Simulations default to the remote agent over the stream; tests default to the remote too.
        sim_targets = [targets[1], targets[0]] + targets[2:]
        self.simulation_pane.load_agent(agent, sim_targets)
        from ..workspace.files import WorkspaceError
        from ..workspace.scenarios import builtin_scenarios

        try:
            saved = self.backend.workspace.scenarios(agent_id)
        except WorkspaceError:
            saved = []
        names = {s.name for s in saved}
        self.simulation_pane.set_scenarios(saved + [s for s in builtin_scenarios() if s.name not in names])
        self.tests_pane.load_agent(agent, sim_targets)

    # ------------------------------------------------------------------ cross-pane actions
    def open_transcript(self, conversation_id: str, turn: int | None = None) -> None:
        from .screens import TranscriptScreen

        self.push_screen(TranscriptScreen(conversation_id, turn))

    def feedback_changed(self, conversation_id: str, value: str | None) -> None:
        self.conversations_pane.set_feedback(conversation_id, value)

    def use_partial_history(self, turns: list[dict[str, Any]], conversation_id: str) -> None:
        self.simulation_pane.use_partial_history(turns, conversation_id)
        self.notify(f"The current scenario now continues {len(turns)} turns of this conversation.")

    def scenario_saved(self, scenario: Scenario) -> None:
        if self.agent is None:
            return
        from ..workspace.files import ExternalEditConflict, WorkspaceError

        try:
            path = self.backend.workspace.save_scenario(self.agent.agent_id, scenario)
        except ExternalEditConflict:
            # a file of that name exists that this session did not load: never clobber it
            self.notify(f"A scenario file named “{scenario.name}” already exists and was not loaded by this "
                        "session; rename the scenario to keep both.", severity="warning", markup=False)
            return
        except WorkspaceError as exc:
            self.notify(str(exc), title="Scenario not saved", severity="error", markup=False)
            return
        self.notify(f"Scenario saved to {path.relative_to(self.backend.workspace.root)}.", markup=False)

    @work(group="create-test")
    async def create_test_from_conversation(self, conv: Conversation, upto: int, values: dict[str, Any]) -> None:
        if self.agent is None:
            return
        try:
            body = self.backend.test_from_conversation(conv, upto, **values)
            agent = self.agent if self.agent.agent_id == conv.agent_id else await self.backend.agent(conv.agent_id)
            test_id = await self.backend.create_test(agent, body)
        except (ConvAIError, ValueError) as exc:
            self.notify(str(exc), title="Test not created", severity="error", markup=False)
            return
        from ..workspace.files import WorkspaceError

        try:
            path = self.backend.workspace.save_test(conv.agent_id, body, remote_id=test_id, synced=True)
            where = f" and saved to {path.relative_to(self.backend.workspace.root)}"
        except WorkspaceError as exc:
            where = f" (not saved to the workspace: {exc})"
        self.notify(f"Created test “{body.name}” ({test_id}), attached it to the agent{where}.", markup=False)
        if self.agent.agent_id == conv.agent_id:
            self.load_agent(conv.agent_id)

    # ------------------------------------------------------------------ branches
    def action_create_branch(self) -> None:
        from .screens import InputScreen

        if self.agent is not None:
            self.push_screen(InputScreen("Create branch", "Name of the new branch (from the current main version)",
                                         "e.g. confirm-times"), self._create_branch)

    @work(group="branches")
    async def _create_branch(self, name: str | None) -> None:
        if not name or self.agent is None:
            return
        try:
            bid = await self.backend.create_branch(self.agent.agent_id, name)
        except ConvAIError as exc:
            self.notify(str(exc), title="Branch not created", severity="error", markup=False)
            return
        self.notify(f"Created branch {name} ({bid}).", markup=False)
        self.load_agent(self.agent.agent_id)

    def action_push_new_branch(self) -> None:
        from .screens import InputScreen

        if self.agent is not None:
            self.push_screen(InputScreen("Push to a new branch", "Name of the branch to create with the editor's prompt",
                                         "e.g. try-warmer-tone"), self._push_new_branch)

    @work(group="branches")
    async def _push_new_branch(self, name: str | None) -> None:
        from ..workspace.errors import WorkspaceError

        if not name or self.agent is None:
            return
        try:
            draft = self.prompt_pane.current_draft(strict=True)
            res = await self.backend.push_new_branch(self.agent.agent_id, draft, name)
        except (ConvAIError, WorkspaceError, ValueError) as exc:
            self.notify(str(exc), title="Not pushed", severity="error", markup=False)
            return
        self.notify(f"Created branch {name} with the editor's prompt ({res.version_id}).", markup=False)
        self.load_agent(self.agent.agent_id)

    @work(group="branches")
    async def action_merge_branch(self) -> None:
        from .screens import PickScreen

        if self.agent is None:
            return
        try:
            branches = [b for b in await self.backend.branches(self.agent.agent_id)
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
            await self.backend.merge_branch(self.agent.agent_id, picked)
        except ConvAIError as exc:
            self.notify(str(exc), title="Merge failed", severity="error", markup=False)
            return
        self.notify("Merged into main; the prompt pane shows the new main version.")
        self.load_agent(self.agent.agent_id)

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
        yield SystemCommand("Cancel test run", "Cancel the running invocation", self.tests_pane.action_cancel)

    async def on_unmount(self) -> None:
        import gc

        await self.backend.close()
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
        key = self.backend.api_key
        if key:
            text = text.replace(key, "***")
        self.crash_report = text
        self._exit_renderables.append(Segments(self.console.render(RichText(text), self.console.options)))
        self._close_messages_no_wait()


def run_tui(*, demo: bool, base_url: str | None, api_key: str | None, agent_id: str | None,
            workspace: str | None, demo_options: dict[str, Any] | None = None) -> int:
    mark("tui-imported")
    backend = Backend(api_key=api_key, base_url=base_url, demo=demo, workspace_dir=workspace,
                      emulator_options=dict(demo_options or {}))
    app = ConvaiApp(backend, agent_id=agent_id, no_key=not demo and not api_key)
    app.run()
    return app.return_code or 0
