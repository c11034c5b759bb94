"""The test x version matrix: one row per test, one column per target (saved versions, the draft,
branches, the remote), each cell the pass rate of every recorded run of that prompt. ``f`` fills the
empty cells (only those), ``b`` bisects the highlighted test between its last passing and its failing
version, Enter opens the latest run behind a cell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...api.errors import ConvAIError
from ...services.errors import UsageError
from ...textutil import one_line
from ...workspace.errors import WorkspaceError
from ..widgets.matrixview import MatrixView
from ..widgets.status import StatusLine

if TYPE_CHECKING:
    from ...api.models import AgentTest
    from ...services.matrix import Matrix
    from ...services.session import Session


def cell_view(passed: int, total: int, flaky: bool) -> tuple[str, str]:
    if not total:
        return "·", "empty"
    kind = "pass" if passed == total else "fail" if passed == 0 else "mixed"
    return f"{passed}/{total}{'~' if flaky else ''}", kind


class MatrixScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the panes"),
        Binding("f", "fill", "Fill empty cells", tooltip="Run only the empty cells, one run per distinct prompt"),
        Binding("b", "bisect", "Bisect test", tooltip="Find the first saved version where this row's test fails"),
        Binding("plus,equals_sign", "repeat(1)", "Repeat +", key_display="+", tooltip="One more repeat per cell"),
        Binding("minus", "repeat(-1)", "Repeat -", key_display="-", show=False, tooltip="One repeat less"),
    ]

    def __init__(self, session: Session, agent_id: str, specs: list[str] | None = None) -> None:
        super().__init__()
        self.session = session
        self.agent_id = agent_id
        self.specs = specs
        self.matrix: Matrix | None = None
        self.tests: list[AgentTest] = []
        self.repeat = 1
        self.busy = False
        self.evidence: list[Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Tests × versions · {one_line(self.agent_id, 60)}", style="bold"), id="mx-header")
        yield MatrixView(id="mx-view")
        yield Static("", id="mx-columns")
        yield StatusLine("Loading the matrix…", id="mx-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MatrixView).loading = True
        self.load()

    @work(exclusive=True, group="matrix")
    async def load(self) -> None:
        try:
            self.matrix, self.tests = await self.session.matrix.matrix(self.agent_id, self.specs)
        except (ConvAIError, UsageError, WorkspaceError) as exc:
            self.query_one(MatrixView).loading = False
            self._status(Text(f"Could not build the matrix: {exc}", style="red"))
            return
        self._show()
        self.query_one(MatrixView).focus()
        self.live()

    @work(exclusive=True, group="matrix-live")
    async def live(self) -> None:
        """The live-call footer: calls served by the remote versions with each column's prompt."""
        try:
            self.evidence = await self.session.matrix.version_evidence(self.agent_id)
        except ConvAIError as exc:
            self.app.notify(f"Live-call evidence not read: {exc}", title="Matrix", severity="warning", markup=False)
            return
        self._footers()

    def _footers(self) -> None:
        if self.matrix is None or self.evidence is None:
            return
        calls, rates = [], []
        for c in self.matrix.columns:
            ev = self.session.matrix.live_for(self.evidence, c.content_hash)
            calls.append("" if ev is None else f"{ev.calls:,}{'+' if ev.capped else ''}")
            r = None if ev is None else ev.success_rate
            rates.append("" if r is None else f"{r * 100:.0f}%")
        self.query_one(MatrixView).set_footers([("live calls", calls), ("call success", rates)])

    def _show(self) -> None:
        m = self.matrix
        assert m is not None
        view = self.query_one(MatrixView)
        cols = []
        for c in m.columns:
            t = m.column_rate(c.key)
            cols.append((c.key, "" if t.rate is None else f"{t.rate * 100:.0f}%"))
        cells = [[cell_view(r.cells[c.key].passed, r.cells[c.key].total, r.cells[c.key].flaky) for c in m.columns]
                 for r in m.rows]
        view.set_data(cols, [r.name for r in m.rows], cells)
        view.loading = False
        self._footers()
        legend = Text()
        for c in m.columns:
            legend.append(f"{c.key}", style="bold")
            legend.append(f" {one_line(c.label, 40)}   ", style="dim")
        self.query_one("#mx-columns", Static).update(legend)
        missing = sum(len(v) for v in m.missing().values())
        self._status(Text.assemble(
            f"{len(m.rows)} tests × {len(m.columns)} targets; rows sorted by disagreement; ~ flaky. ",
            (f"{missing} empty cell(s): f fills them (× {self.repeat}, +/- to change). " if missing else "", "yellow"),
            ("b: bisect the highlighted test · Enter: the latest run of a cell", "dim")))

    def _status(self, text: Text | str) -> None:
        self.query_one("#mx-status", StatusLine).update(text)

    def action_repeat(self, delta: int) -> None:
        self.repeat = max(1, min(20, self.repeat + delta))
        if self.matrix is not None:
            self._show()

    def action_fill(self) -> None:
        if self.matrix is None or self.busy:
            return
        if not self.matrix.missing():
            self.app.notify("No empty cells.")
            return
        self.fill()

    @work(exclusive=True, group="matrix")
    async def fill(self) -> None:
        m = self.matrix
        assert m is not None
        self.busy = True
        done: dict[str, int] = {}
        total = sum(len(v) for v in m.missing().values()) * self.repeat
        try:
            async for p in self.session.matrix.fill(m, self.tests, repeat=self.repeat):
                done[p.column] = p.done
                if p.error:
                    self.app.notify(f"{p.column}: {p.error}", title="Fill", severity="error", markup=False)
                self._status(f"Filling… {sum(done.values())}/{total} runs done ({p.column})")
            self.matrix = self.session.matrix.build(self.agent_id, m.columns, self.tests)
        except (ConvAIError, UsageError, WorkspaceError) as exc:
            self.app.notify(str(exc), title="Fill", severity="error", markup=False)
        finally:
            self.busy = False
        self._show()

    def _bisect_bounds(self, row: int) -> tuple[int, int]:
        m = self.matrix
        assert m is not None
        r = m.rows[row]
        versions = sorted((int(c.key[1:]), r.cells[c.key]) for c in m.columns
                          if c.key.startswith("v") and c.key[1:].isdigit())
        failing = [n for n, c in versions if c.total and c.passed < c.total]
        if not failing:
            raise UsageError("this test fails in no version column: nothing to bisect")
        bad = failing[-1]
        passing = [n for n, c in versions if c.total and c.passed == c.total and n < bad]
        if not passing:
            raise UsageError("no older version column where it passes: run the older versions first (f)")
        return passing[-1], bad

    def action_bisect(self) -> None:
        if self.matrix is None or self.busy or not self.matrix.rows:
            return
        view = self.query_one(MatrixView)
        try:
            good, bad = self._bisect_bounds(view.cursor_row)
        except UsageError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        self.bisect(self.matrix.rows[view.cursor_row].test_id, good, bad)

    @work(exclusive=True, group="matrix")
    async def bisect(self, test_id: str, good: int, bad: int) -> None:
        from ...services.matrix import BisectResult, BisectStep

        self.busy = True
        result = None
        try:
            async for x in self.session.matrix.bisect(self.agent_id, test_id, good=good, bad=bad,
                                                      repeat=max(3, self.repeat)):
                if isinstance(x, BisectStep):
                    self._status(f"Bisecting v{good}..v{bad}: v{x.version} {x.passed}/{x.total} "
                                 f"{'good' if x.good else 'bad'}")
                elif isinstance(x, BisectResult):
                    result = x
        except (ConvAIError, UsageError, WorkspaceError) as exc:
            self.app.notify(str(exc), title="Bisect", severity="error", markup=False)
        finally:
            self.busy = False
        if result is None:
            return
        self.matrix = self.session.matrix.build(self.agent_id, self.matrix.columns, self.tests)  # type: ignore[union-attr]
        self._show()
        self.app.notify(f"v{result.culprit} is the first version where “{result.test_name}” fails "
                        f"(v{result.predecessor} passes): {len(result.steps)} steps, {result.api_runs} new run(s).",
                        title="Bisect", markup=False, timeout=12)
        from ..prompt.diff import DiffScreen

        prompts = self.session.prompts
        pa, pb = prompts.version(self.agent_id, result.predecessor), prompts.version(self.agent_id, result.culprit)
        self.app.push_screen(DiffScreen([(pa.label, pa.label, pa.draft), (pb.label, pb.label, pb.draft)],
                                        pa.label, pb.label, session=self.session, agent_id=self.agent_id))

    @on(MatrixView.Selected, "#mx-view")
    def _open(self, event: MatrixView.Selected) -> None:
        m = self.matrix
        if m is None:
            return
        cell = m.rows[event.row].cells[m.columns[event.col].key]
        if not cell.runs:
            self.app.notify("No run of this prompt has this test yet: f fills the empty cells.")
            return
        runs = self.session.runs
        view = next((v for v in runs.list(self.agent_id) if v.id == cell.runs[-1]), None)
        if view is not None:
            from .run_view import RunScreen

            self.app.push_screen(RunScreen(self.session, view))
