"""The Tests pane: a grid of tests x runs that fills in live while the invocation is polled."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select

from ...api.errors import ConvAIError
from ...services.errors import TargetError, UsageError
from ...services.targets import RunTarget
from ...services.tests import condition_of, repeat_index
from ...textutil import one_line
from ..widgets.loading import loaded
from ..widgets.fields import Field
from ..widgets.rungrid import RunGrid
from ..widgets.status import StatusLine
from ...workspace.errors import WorkspaceError
from ..messages import ShowHistory, ShowMatrix
from ..widgets.targets import TargetChoice, choice_for, fill_targets
from .run_detail import RunDetailScreen

if TYPE_CHECKING:
    from ...workspace.runs import RunHeader
    from ...workspace.versions import PromptDraft
    from ...api.models import Agent, AgentTest, TestInvocation, TestRun
    from ...services.session import Session


def rate_text(passed: int, done: int) -> Text:
    if not done:
        return Text(" —", style="dim")
    pct = 100 * passed / done
    return Text(f"{pct:3.0f}%", style="green" if pct == 100 else ("red" if pct < 50 else "yellow"))


class TestsPane(Vertical):
    ALLOW_MAXIMIZE = False  # zoom maximizes the pane's frame
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="Run the agent's tests against the target"),
        Binding("x", "cancel", "Cancel", tooltip="Cancel the running invocation"),
        Binding("plus,equals_sign", "repeat(1)", "Repeat +", key_display="+", tooltip="One more repeat (up to 20)"),
        Binding("minus", "repeat(-1)", "Repeat -", key_display="-", show=False, tooltip="One repeat less"),
        Binding("R", "retry", "Retry failed", tooltip="Run the failed tests of the last run again, as a retry of it"),
        Binding("h", "history", "History", tooltip="The agent's recorded runs: open, compare, retry"),
        Binding("m", "matrix", "Matrix", tooltip="Tests x prompt versions, with bisect"),
    ]

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.agent: Agent | None = None
        self.tests: list[AgentTest] = []
        self.missing: list[str] = []
        self.invocation: TestInvocation | None = None
        self.runs: dict[tuple[str, int], TestRun] = {}
        self.run_target: RunTarget | None = None  # what the runs on the grid ran against
        self.run_header: RunHeader | None = None  # the record of the last finished run (retries join it)
        self.repeat = 1
        self.targets: list[TargetChoice] = []
        self.polling = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Select([(Text("Remote (main)"), "remote")], value="remote", allow_blank=False, id="tests-target",
                         compact=True)
            yield Label("×", classes="times")
            yield Field("1", id="tests-repeat", type="integer", max_length=2, classes="repeat", compact=True)
            yield Button("Run", id="tests-run", variant="primary", compact=True)
        yield RunGrid(id="tests-grid")
        yield StatusLine("Loading tests…", id="tests-status")

    def on_mount(self) -> None:
        self.grid.loading = True

    def focus_home(self) -> Widget:
        return self.grid

    @property
    def _gone(self) -> bool:
        """The pane (or its grid) is no longer on screen: the app is closing."""
        return not self.is_attached or not self.query("#tests-grid")

    @property
    def grid(self) -> RunGrid:
        return self.query_one("#tests-grid", RunGrid)

    # ------------------------------------------------------------------ loading
    def load_agent(self, agent: Agent, targets: list[TargetChoice]) -> None:
        sel = self.query_one("#tests-target", Select)
        keep = sel.value if self.agent is not None and self.agent.agent_id == agent.agent_id else None
        self.agent = agent
        self.targets = targets
        fill_targets(sel, targets, keep)  # type: ignore[arg-type]
        if self.polling:
            return  # a reload while a run is in progress: the run keeps its grid
        self.invocation = None
        self.grid.loading = True
        self.load_tests()

    @work(exclusive=True, group="tests-load")
    async def load_tests(self) -> None:
        assert self.agent is not None
        try:
            ts = await self.session.tests.for_agent(self.agent)
        except ConvAIError as exc:
            if self._gone:
                return
            loaded(self.grid)
            self._status(Text(f"Could not load tests: {exc}", style="red"))
            self.app.notify(str(exc), title="Tests", severity="error", markup=False)
            return
        if self._gone:
            return  # the app closed while the tests were on their way
        self.tests, self.missing = ts.tests, ts.missing
        self.runs = {}
        self._build_grid(self.repeat)
        loaded(self.grid)
        t = Text(f"{len(ts.tests)} tests · r runs them against the target · +/- repeats")
        if ts.missing:
            t.append(f" {len(ts.missing)} attached test(s) no longer exist: skipped.", style="yellow")
            self.app.notify("\n".join(ts.missing), title="Skipped attached tests", severity="warning", markup=False)
        self._status(t)

    def _build_grid(self, repeat: int) -> None:
        self.grid.set_tests([(t.id, t.name, t.type) for t in self.tests], repeat)

    def _status(self, text: Text | str) -> None:
        self.query_one("#tests-status", StatusLine).update(text)

    # ------------------------------------------------------------------ running
    def target(self) -> RunTarget:
        """The chosen target, resolved now (the draft is what the editor holds at this moment)."""
        return choice_for(self.targets, self.query_one("#tests-target", Select).value).resolve()

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
        try:
            target = self.target()
        except (TargetError, UsageError, LookupError) as exc:
            self.app.notify(str(exc), title="Tests", severity="error", markup=False)
            return
        self.repeat = n
        self.runs = {}
        self.run_target = target
        self._build_grid(n)
        self.grid.set_statuses((t.id, i, "pending") for t in self.tests for i in range(n))
        self.run_tests(n, target)

    @work(exclusive=True, group="tests-run")
    async def run_tests(self, repeat: int, target: RunTarget) -> None:
        assert self.agent is not None
        agent_id = self.agent.agent_id
        self.polling = True
        self.run_header = None
        self._status(f"Starting {len(self.tests) * repeat} runs against {one_line(target.label, 60)}…")
        tests = self.session.tests
        started = time.time()
        inv = None
        prompt, version_id = None, None
        try:
            prompt, version_id = await self.session.runs.prompt_of(agent_id, target)
            inv = await tests.start(agent_id, self.tests, target, repeat=repeat)
            self.invocation = inv
            self._apply(inv)
            async for inv in tests.poll(inv.id, initial_interval=0.3, max_interval=2.0):
                self.invocation = inv
                self._apply(inv)
        except (ConvAIError, UsageError) as exc:
            self._status(Text(f"Run failed: {exc}", style="red"))
            self.app.notify(str(exc), title="Tests", severity="error", markup=False)
        finally:
            self.polling = False
        if inv is not None and inv.is_finished:
            self._record(agent_id, inv, target, repeat, started, prompt, version_id)

    def _record(self, agent_id: str, inv: TestInvocation, target: RunTarget, repeat: int, started: float,
                prompt: PromptDraft | None, version_id: str | None) -> None:
        """Every finished run is kept in the workspace's run history."""
        try:
            self.run_header = self.session.runs.record_test_run(agent_id, self.tests, inv, target, repeat=repeat,
                                                                started=started, prompt=prompt, version_id=version_id)
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="Run not recorded", severity="error", markup=False)
            return
        self._apply(inv)

    def action_retry(self) -> None:
        """Rerun only the failed runs of the last finished run (same target): R."""
        if self.polling:
            self.app.notify("A run is in progress.", severity="warning")
            return
        if self.run_header is None or self.agent is None:
            self.app.notify("No finished run to retry: run the tests first (r), or open one from the history (h).",
                            severity="warning")
            return
        self.retry_run(self.run_header)

    @work(exclusive=True, group="tests-run")
    async def retry_run(self, header: RunHeader) -> None:
        assert self.agent is not None
        runs = self.session.runs
        try:
            view = runs.full(runs.resolve(header.agent_id, header.id))
            ids, target = runs.retry_plan(view)
        except (UsageError, WorkspaceError) as exc:
            self.app.notify(str(exc), title="Retry", severity="warning", markup=False)
            return
        self.polling = True
        self.run_target = target
        self._status(f"Retrying {len(ids)} failed run(s) against {one_line(target.label, 60)}…")
        try:
            async for inv in runs.retry(header.agent_id, view, self.tests):
                self.invocation = inv
                self._apply(inv)
        except (ConvAIError, UsageError, WorkspaceError) as exc:
            self._status(Text(f"Retry failed: {exc}", style="red"))
            self.app.notify(str(exc), title="Retry", severity="error", markup=False)
        finally:
            self.polling = False
        after = runs.full(runs.resolve(header.agent_id, header.id))
        flaky = len(after.flaky_tests)
        self.app.notify(f"Retried {len(ids)} run(s) of {header.id}: {after.passed} passed, {after.failed} failed"
                        + (f"; {flaky} flaky test(s)" if flaky else "") + ".", markup=False)

    def action_history(self) -> None:
        if self.agent is not None:
            self.post_message(ShowHistory(self.agent.agent_id))

    def action_matrix(self) -> None:
        if self.agent is not None:
            self.post_message(ShowMatrix(self.agent.agent_id))

    def _apply(self, inv: TestInvocation) -> None:
        """Update only the cells whose status changed, then the per-test and overall rates."""
        # One pass over the runs (4,000 at 200 tests x 20 repeats, every poll): the cells and the counts.
        from ...api.models import TEST_RUN_STATUSES

        seen_rep: dict[str, int] = {}
        changes: list[tuple[str, int, str]] = []
        runs = self.runs
        c = dict.fromkeys(TEST_RUN_STATUSES, 0)
        for run in inv.test_runs:
            rep = repeat_index(run, seen_rep)
            tid, st = run.test_id, run.status
            runs[(tid, rep)] = run
            changes.append((tid, rep, st))
            c[st] = c.get(st, 0) + 1
        self.grid.set_statuses(changes)  # re-renders only the visible rows that changed, once each
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
        if self.run_target is not None:
            t.append(f" · {one_line(self.run_target.label, 50)}", style="bold")
        if self.run_header is not None:
            t.append(f" · run {self.run_header.id}", style="dim")
            if c["failed"]:
                t.append("  (R: retry failed · h: history)", style="dim")
        t.append("  (Enter on a cell: details)", style="dim")
        self._status(t)

    def action_cancel(self) -> None:
        if self.invocation is None or not self.polling:
            return
        self.cancel_run(self.invocation.id)

    @work(group="tests-cancel")
    async def cancel_run(self, invocation_id: str) -> None:
        try:
            await self.session.tests.cancel(invocation_id)
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
        target = self.run_target
        self.app.push_screen(RunDetailScreen(run, condition_of(test), rep, target.label if target else "",
                                             target.test_road if target else ""))
