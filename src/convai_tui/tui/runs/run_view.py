"""One recorded run, as it was: a test run's grid (every repeat, retries joined) with each result's
rationale on Enter, or a simulation's transcript and analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...textutil import one_line
from ...workspace.runs import code_status
from ..widgets.render import analysis_text
from ..widgets.rungrid import RunGrid
from ..widgets.status import StatusLine
from ..widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from ...services.runs import RunView
    from ...services.session import Session


def describe(v: RunView) -> Text:
    h = v.header
    t = Text()
    t.append(f"{h.id}  ", style="bold")
    t.append(f"{h.created.replace('T', ' ')[:19]} UTC  ·  ")
    t.append(one_line(h.target_label, 70), style="bold")
    t.append(f"  ·  {one_line(h.road, 50)}  ·  {h.duration_secs:.0f}s")
    if h.invocation_id:
        t.append(f"  ·  invocation {one_line(h.invocation_id, 40)}", style="dim")
    if h.source != "local":
        t.append("  ·  made elsewhere", style="yellow")
    if v.retries:
        t.append(f"  ·  {len(v.retries)} retr{'y' if len(v.retries) == 1 else 'ies'} joined", style="dim")
    return t


class RunScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back",
                        tooltip="Back (Enter on a cell: the result and its rationale)")]

    def __init__(self, session: Session, view: RunView) -> None:
        super().__init__()
        self.session = session
        self.view = session.runs.full(view)
        self.results: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(describe(self.view), id="run-header")
        if self.view.header.kind == "simulation":
            with Horizontal(id="run-body"):
                tv = TranscriptView(id="run-turns")
                tv.border_title = f"Transcript · {one_line(self.view.header.scenario or '', 40)}"
                yield tv
                with VerticalScroll(id="run-side") as side:
                    side.border_title = "Analysis"
                    yield Static("", id="run-analysis")
        else:
            yield RunGrid(id="run-grid")
        yield StatusLine("", id="run-status")
        yield Footer()

    def on_mount(self) -> None:
        v = self.view
        if v.header.kind == "simulation":
            from ...api.models import ConversationAnalysis, TranscriptTurn

            f = self.session.runs.load(v.header)
            view = self.query_one(TranscriptView)
            view.set_turns([TranscriptTurn.model_validate(t) for t in f.turns])
            an = ConversationAnalysis.model_validate(f.analysis) if f.analysis else None
            self.query_one("#run-analysis", Static).update(analysis_text(an))
            view.focus()
            self.query_one("#run-status", StatusLine).update(
                f"{len(f.turns)} turns · call {one_line(v.header.call_successful or '?', 40)}")
            return
        outcomes = v.outcomes or []
        grid = self.query_one(RunGrid)
        repeat = max((o.total for o in outcomes), default=0)
        grid.set_tests([(o.test_id, o.name, o.type) for o in outcomes], repeat)
        grid.set_statuses((o.test_id, rep, code_status(code)) for o in outcomes for rep, code in enumerate(o.final))
        self.results = self.session.runs.results(v)
        r = v.pass_rate
        self.query_one("#run-status", StatusLine).update(Text.assemble(
            f"{v.passed} passed, {v.failed} failed" + (f" ({r * 100:.0f}%)" if r is not None else ""),
            (f" · flaky: {len(v.flaky_tests)}" if v.flaky_tests else "", "yellow"),
            ("  (Enter on a cell: the result and its rationale)", "dim")))
        grid.focus()

    @on(RunGrid.Selected, "#run-grid")
    def _cell(self, event: RunGrid.Selected) -> None:
        from ...api.models import TestRun
        from ..tests.run_detail import RunDetailScreen

        attempts = self.results.get((event.test_id, event.repeat)) or []
        if not attempts:
            self.app.notify("No result was recorded for this cell.")
            return
        r = attempts[-1]
        run = TestRun.model_validate({
            "test_run_id": r.get("test_run_id") or "?", "test_id": event.test_id, "test_name": r.get("test_name"),
            "status": r.get("status") or "unknown", "agent_responses": r.get("agent_responses") or None,
            "condition_result": {"result": r.get("condition_result") or "unknown",
                                 "rationale": {"summary": r.get("rationale") or ""}}
            if r.get("condition_result") else None})
        h = self.view.header
        note = f" (attempt {len(attempts)} of {len(attempts)}: earlier " + ", ".join(
            str(a.get("status")) for a in attempts[:-1]) + ")" if len(attempts) > 1 else ""
        self.app.push_screen(RunDetailScreen(run, str(r.get("condition") or ""), event.repeat,
                                             h.target_label + note, h.road))
