"""The Tests pane: a grid of tests x runs that fills in live while the invocation is polled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from ..api.errors import ConvAIError
from ..services import RunTarget
from ..textutil import one_line
from .rungrid import RunGrid
from .targets import fill_targets, pick_target
from .screens import RunDetailScreen
from .status import StatusLine

if TYPE_CHECKING:
    from ..api.models import Agent, AgentTest, TestInvocation, TestRun
    from .app import ConvaiApp



def rate_text(passed: int, done: int) -> Text:
    if not done:
        return Text(" —", style="dim")
    pct = 100 * passed / done
    return Text(f"{pct:3.0f}%", style="green" if pct == 100 else ("red" if pct < 50 else "yellow"))


class TestsPane(Vertical):
    BINDINGS = [
        Binding("r", "run", "Run tests"),
        Binding("x", "cancel", "Cancel run"),
        Binding("plus,equals_sign", "repeat(1)", "Repeat +", key_display="+"),
        Binding("minus", "repeat(-1)", "Repeat -", key_display="-", show=False),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.agent: Agent | None = None
        self.tests: list[AgentTest] = []
        self.invocation: TestInvocation | None = None
        self.runs: dict[tuple[str, int], TestRun] = {}

        self.repeat = 1
        self.targets: list[tuple[str, RunTarget]] = []
        self.polling = False

    @property
    def capp(self) -> "ConvaiApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Select([(Text("Remote (main)"), "0")], value="0", allow_blank=False, id="tests-target")
            yield Label("×", classes="times")
            yield Input("1", id="tests-repeat", type="integer", max_length=2, classes="repeat")
            yield Button("Run", id="tests-run", variant="primary")
        yield RunGrid(id="tests-grid")
        yield StatusLine("Loading tests…", id="tests-status")

    def on_mount(self) -> None:
        self.grid.loading = True

    @property
    def grid(self) -> RunGrid:
        return self.query_one("#tests-grid", RunGrid)

    # ------------------------------------------------------------------ loading
    def load_agent(self, agent: Agent, targets: list[tuple[str, RunTarget]]) -> None:
        self.agent = agent
        self.targets = targets
        fill_targets(self.query_one("#tests-target", Select), targets)
        self.invocation = None
        self.grid.loading = True
        self.load_tests()

    @work(exclusive=True, group="tests-load")
    async def load_tests(self) -> None:
        assert self.agent is not None
        try:
            tests = await self.capp.backend.tests_for_agent(self.agent)
        except ConvAIError as exc:
            self.grid.loading = False
            self._status(Text(f"Could not load tests: {exc}", style="red"))
            self.app.notify(str(exc), title="Tests", severity="error", markup=False)
            return
        self.tests = tests
        self.runs = {}
        self._build_grid(self.repeat)
        self.grid.loading = False
        self._status(Text(f"{len(tests)} tests. Press r to run them "
                          f"(× repeat count with +/-; target: remote, a branch or the local draft)."))

    def _build_grid(self, repeat: int) -> None:
        self.grid.set_tests([(t.id, t.name, t.type) for t in self.tests], repeat)

    def _status(self, text: Text | str) -> None:
        self.query_one("#tests-status", StatusLine).update(text)

    # ------------------------------------------------------------------ running
    def target(self) -> tuple[str, RunTarget]:
        return pick_target(self, self.targets, str(self.query_one("#tests-target", Select).value))

    def _read_repeat(self) -> int | None:
        raw = self.query_one("#tests-repeat", Input).value.strip() or "1"
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if not 1 <= n <= 20:
            self.app.notify("Repeat count must be between 1 and 20.", severity="error")
            return None
        return n

    def action_repeat(self, delta: int) -> None:
        n = max(1, min(20, (self._read_repeat() or 1) + delta))
        self.query_one("#tests-repeat", Input).value = str(n)

    @on(Button.Pressed, "#tests-run")
    def action_run(self) -> None:
        if self.agent is None or not self.tests:
            self.app.notify("No tests to run.", severity="warning")
            return
        if self.polling:
            self.app.notify("A run is in progress (x cancels it).", severity="warning")
            return
        n = self._read_repeat()
        if n is None:
            return
        self.repeat = n
        self.runs = {}
        self._build_grid(n)
        self.grid.set_statuses((t.id, i, "pending") for t in self.tests for i in range(n))
        self.run_tests(n)

    @work(exclusive=True, group="tests-run")
    async def run_tests(self, repeat: int) -> None:
        assert self.agent is not None
        label, target = self.target()
        self.polling = True
        self._status(f"Starting {len(self.tests) * repeat} runs against {one_line(label, 40)}…")
        try:
            inv = await self.capp.backend.run_tests(self.agent.agent_id, [t.id for t in self.tests], repeat=repeat,
                                                    target=target, name=f"convai-tui: {label}")
            self.invocation = inv
            self._apply(inv)
            async for inv in self.capp.backend.poll(inv.id, initial_interval=0.3, max_interval=2.0):
                self.invocation = inv
                self._apply(inv)
        except ConvAIError as exc:
            self._status(Text(f"Run failed: {exc}", style="red"))
            self.app.notify(str(exc), title="Tests", severity="error", markup=False)
        finally:
            self.polling = False

    def _apply(self, inv: TestInvocation) -> None:
        """Update only the cells whose status changed, then the per-test and overall rates."""
        seen_rep: dict[str, int] = {}
        changes: list[tuple[str, int, str]] = []
        for run in inv.test_runs:
            rep = (run.__pydantic_extra__ or {}).get("repeat_index")  # (extra_fields copies the dict)
            if not isinstance(rep, int):
                rep = seen_rep.get(run.test_id, 0)
            seen_rep[run.test_id] = rep + 1
            self.runs[(run.test_id, rep)] = run
            changes.append((run.test_id, rep, run.status))
        self.grid.set_statuses(changes)  # re-renders only the visible rows that changed, once each
        c = inv.counts()
        done = c["passed"] + c["failed"]
        t = Text()
        t.append(f"{c['passed']}/{len(inv.test_runs)} passed ")
        t.append_text(rate_text(c["passed"], done))
        if c["failed"]:
            t.append(f" · {c['failed']} failed", style="red")
        if c["pending"]:
            t.append(f" · {c['pending']} pending…", style="yellow")
        if c["cancelled"]:
            t.append(f" · {c['cancelled']} cancelled", style="dim")
        t.append("  (Enter on a cell: details)", style="dim")
        self._status(t)

    def action_cancel(self) -> None:
        if self.invocation is None or not self.polling:
            return
        self.cancel_run(self.invocation.id)

    @work(group="tests-cancel")
    async def cancel_run(self, invocation_id: str) -> None:
        try:
            await self.capp.backend.cancel(invocation_id)
        except ConvAIError as exc:
            self.app.notify(str(exc), title="Cancel", severity="error", markup=False)
            return
        self.app.notify("Cancel requested.")

    @on(RunGrid.Selected, "#tests-grid")
    def _cell(self, event: RunGrid.Selected) -> None:
        tid, rep = event.test_id, event.repeat
        test = next((t for t in self.tests if t.id == tid), None)
        if test is None:
            return
        run = self.runs.get((tid, rep))
        if run is None:
            self.app.notify("No run for this cell yet: press r to run the tests.")
            return
        cond = test.success_condition or "; ".join(test.success_conditions or []) or (
            f"calls {test.tool_call_parameters.referenced_tool.id}" if test.tool_call_parameters
            and test.tool_call_parameters.referenced_tool else "")
        self.app.push_screen(RunDetailScreen(run, cond, rep))
