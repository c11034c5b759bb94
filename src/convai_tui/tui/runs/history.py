"""The run history of an agent: every test and simulation run, newest first; Enter opens one as it was,
space marks runs, ``c`` compares the two marked (or the highlighted one with the run before it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from ..widgets.status import StatusLine
from ..widgets.vtable import Column, VirtualTable

if TYPE_CHECKING:
    from ...services.runs import RunView
    from ...services.session import Session

RESULT_STYLE = {"success": "green", "failure": "red"}


class HistoryScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back (Enter on a run opens it)"),
        Binding("space", "mark", "Mark", tooltip="Mark the run (two marked: c compares them)"),
        Binding("c", "compare", "Compare", tooltip="Compare the two marked runs; else this run with its A/B "
                                                    "partner or the run before it"),
        Binding("ctrl+r", "refresh", "Refresh", tooltip="Read the run files again (runs recorded elsewhere too)"),
    ]

    def __init__(self, session: Session, agent_id: str) -> None:
        super().__init__()
        self.session = session
        self.agent_id = agent_id
        self.runs: list[RunView] = []
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Run history · {one_line(self.agent_id, 60)}", style="bold"), id="hist-header")
        yield VirtualTable(id="hist-table")
        yield StatusLine("", id="hist-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_columns([Column("mark", "", 1), Column("when", "When (UTC)", 16), Column("kind", "Kind", 4),
                           Column("rate", "Pass", 5), Column("failed", "Fail", 4), Column("flaky", "Flaky", 5),
                           Column("time", "Time", 6), Column("target", "Target"), Column("what", "Scenario / source")])
        self._fill()
        table.focus()
        self.sync()

    def _fill(self) -> None:
        runs = self.session.runs
        try:
            self.runs = runs.list(self.agent_id)
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="History", severity="error", markup=False)
            self.runs = []
        table = self.query_one(VirtualTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows((v.id, self._row(v)) for v in self.runs)
        table.cursor_row = min(cursor, max(0, table.row_count - 1))
        n = len(self.runs)
        self._status(f"{n} run(s). Enter: open · space: mark · c: compare the two marked (or this one with the one "
                     "before it)" if n else "No runs recorded yet: run the tests (r in the Tests pane) or a simulation.")

    def _row(self, v: RunView) -> list[Text]:
        h = v.header
        mark = Text("●" if h.id in self.marked else "", style="bold yellow")
        when = Text(h.created.replace("T", " ")[:16])
        if h.kind == "simulation":
            result = h.call_successful or "?"
            rate = Text(one_line(result, 5), style=RESULT_STYLE.get(result, "yellow"))
            failed, flaky, kind = Text(str(h.failed)), Text(""), Text("sim")
        else:
            r = v.pass_rate
            rate = Text("  —" if r is None else f"{r * 100:3.0f}%",
                        style="green" if r == 1 else "red" if v.failed else "")
            failed = Text(str(len(v.failed_tests)), style="red" if v.failed_tests else "dim")
            flaky = Text(str(len(v.flaky_tests)), style="yellow" if v.flaky_tests else "dim")
            kind = Text("test")
        what = h.scenario or ""
        if h.source != "local":
            what = f"{what} (made elsewhere)".strip()
        if v.retries:
            what = f"{what} +{len(v.retries)} retry".strip()
        return [mark, when, kind, rate, failed, flaky, Text(f"{h.duration_secs:5.0f}s"),
                Text(one_line(h.target_label, 60), style="bold"), Text(one_line(what, 40), style="dim")]

    def _status(self, text: str) -> None:
        self.query_one("#hist-status", StatusLine).update(text)

    @work(exclusive=True, group="history-sync")
    async def sync(self) -> None:
        """Merge runs made elsewhere (the dashboard, CI, another machine)."""
        try:
            added = await self.session.runs.sync_remote(self.agent_id)
        except (ConvAIError, WorkspaceError) as exc:
            self.app.notify(f"Runs made elsewhere were not merged: {exc}", title="History", severity="warning",
                            markup=False)
            return
        if added:
            self._fill()
            self.app.notify(f"Merged {added} run(s) made elsewhere.")

    def action_refresh(self) -> None:
        self._fill()
        self.sync()

    def _current(self) -> RunView | None:
        table = self.query_one(VirtualTable)
        if not self.runs or table.cursor_row >= len(self.runs):
            return None
        return self.runs[table.cursor_row]

    @on(VirtualTable.Selected, "#hist-table")
    def _open(self, event: VirtualTable.Selected) -> None:
        v = next((r for r in self.runs if r.id == event.key), None)
        if v is not None:
            from .run_view import RunScreen

            self.app.push_screen(RunScreen(self.session, v))

    def action_mark(self) -> None:
        v = self._current()
        if v is None:
            return
        if v.id in self.marked:
            self.marked.remove(v.id)
        else:
            self.marked = (self.marked + [v.id])[-2:]
        self._fill()

    def action_compare(self) -> None:
        """The two marked runs; else the highlighted one with its A/B partner, or with the run before it."""
        by_id = {v.id: v for v in self.runs}
        if len(self.marked) == 2:
            a, b = sorted((by_id[i] for i in self.marked if i in by_id), key=lambda v: v.header.created)
        else:
            cur = self._current()
            if cur is None:
                return
            pair = self.session.runs.partner(cur)
            if pair is None:
                self.app.notify("Mark two runs with space, or pick a run that has one before it.", severity="warning")
                return
            a, b = pair
        from .compare import CompareScreen

        try:
            self.app.push_screen(CompareScreen(self.session, a, b))
        except UsageError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
