"""The Simulation pane: run a scenario, watch turns stream in, read the analysis; A/B mode."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Label, Select, Static
from textual.worker import Worker, WorkerState

from ...api.errors import ConvAIError, StreamInterrupted
from ...api.sim_events import Finished, NewTurns, Progress, RoadChosen
from ...services.errors import TargetError, UsageError
from ...services.targets import RunTarget
from ...textutil import one_line, safe
from ...workspace.errors import WorkspaceError
from ...workspace.scenarios import Scenario, builtin_scenarios
from ..messages import CopyText
from ..widgets.render import RESULT_ICON, RESULT_STYLE, analysis_text, result_text
from ..widgets.status import StatusLine
from ..widgets.targets import TargetChoice, choice_for, fill_targets
from ..widgets.transcript_view import TranscriptView
from .ab import ABScreen
from .scenario import ScenarioScreen

if TYPE_CHECKING:
    from ...api.models import Agent, SimulationResponse
    from ...services.session import Session

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class SimRun:
    """State of one running simulation lane (A or B)."""

    def __init__(self, pane: "SimulationPane", lane_id: str, target: RunTarget) -> None:
        self.head = pane.query_one(f"#sim-head-{lane_id}", Static)
        self.view = pane.query_one(f"#sim-turns-{lane_id}", TranscriptView)
        self.analysis = pane.query_one(f"#sim-analysis-{lane_id}", Static)
        self.analysis_box = pane.query_one(f"#sim-analysis-box-{lane_id}")
        self.notes: list[Text] = []
        self.analysis_rich: Text | None = None
        self.target = target
        self.lane_id = lane_id
        self.label = target.label
        self.turns = 0
        self.road = ""
        self.started = time.monotonic()
        self.finished: SimulationResponse | None = None
        self.error = ""
        self.running = True
        self.pending: list[Any] = []  # turns waiting for the next batched render
        self.run_id: str | None = None  # its record in the run history
        self.prompt: tuple[Any, str | None] | None = None  # what ran (prompt, remote version id), for the record

    def note(self, text: Text) -> None:
        """A line in the lane's header (scenario, road, progress, errors): the first (what runs
        where) and the latest are shown; a repeated progress line is not added twice."""
        if self.notes and self.notes[-1].plain == text.plain:
            return
        self.notes.append(text)
        shown = self.notes[:1] + self.notes[-1:] if len(self.notes) > 1 else self.notes
        self.head.update(Text("\n").join(shown))


class SimulationPane(Vertical):
    ALLOW_MAXIMIZE = False  # zoom maximizes the pane's frame
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="Run the scenario against the target"),
        Binding("b", "ab", "A/B", tooltip="Run the scenario against two targets side by side"),
        Binding("x", "cancel", "Cancel", tooltip="Cancel the running simulation (closes the stream)"),
        Binding("e", "edit", "Scenario", tooltip="Edit the scenario (persona, mocks, criteria, history, limit)"),
        Binding("v", "toggle_analysis", "Analysis", tooltip="Show or hide the analysis under the turns"),
        Binding("c", "copy", "Copy", show=False, tooltip="Copy the run: its turns and analysis (OSC 52)"),
    ]

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.agent: Agent | None = None
        self.scenarios: list[Scenario] = builtin_scenarios()
        self.lanes: dict[str, SimRun] = {}
        self.sim_workers: list[Worker] = []
        self.targets: list[TargetChoice] = []
        self.show_analysis = True

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Select(self._scenario_options(), value=0, allow_blank=False, id="sim-scenario", compact=True)
            yield Select([(Text("Remote (main)"), "remote")], value="remote", allow_blank=False, id="sim-target",
                         compact=True)
            yield Button("Run", id="sim-run", variant="primary", compact=True)
            yield Button("A/B", id="sim-ab", compact=True)
        yield StatusLine("Pick a scenario, r runs it (e edits it).", id="sim-status")
        with Horizontal(id="sim-lanes"):
            for lane_id in "ab":
                with Vertical(id=f"sim-lane-{lane_id}", classes="lane" + (" -hidden" if lane_id == "b" else "")):
                    yield Static("", id=f"sim-head-{lane_id}", classes="lane-head")
                    yield TranscriptView(id=f"sim-turns-{lane_id}", classes="lane-turns", follow=True)
                    # the analysis takes at most part of the lane and scrolls: the turns keep most of it
                    with VerticalScroll(id=f"sim-analysis-box-{lane_id}", classes="lane-analysis -hidden"):
                        yield Static("", id=f"sim-analysis-{lane_id}")
        with VerticalScroll(id="sim-compare-box", classes="-hidden"):
            yield Static("", id="sim-compare")

    def on_mount(self) -> None:
        self.set_interval(0.1, self._tick)

    def focus_home(self) -> Widget:
        return self.query_one("#sim-turns-a")

    def action_toggle_analysis(self) -> None:
        self.show_analysis = not self.show_analysis
        for lane in self.lanes.values():
            lane.analysis_box.set_class(not (self.show_analysis and lane.analysis_rich is not None), "-hidden")
        self.app.notify("Analysis shown." if self.show_analysis else "Analysis hidden (v shows it).")

    def action_copy(self) -> None:
        if not self.lanes:
            self.app.notify("Nothing to copy yet: run a simulation first (r).")
            return
        parts = []
        for lane_id, lane in self.lanes.items():
            head = f"{lane_id.upper()}: " if len(self.lanes) > 1 else ""
            parts.append(f"{head}{self.scenario.name} against {lane.label}\n{lane.view.all_text()}")
            if lane.analysis_rich is not None:
                parts.append(lane.analysis_rich.plain.rstrip())
        self.post_message(CopyText("\n\n".join(parts), "the simulation"))

    def _scenario_options(self) -> list[tuple[Text, int]]:
        return [(Text(one_line(s.name, 40)), i) for i, s in enumerate(self.scenarios)]

    @property
    def scenario(self) -> Scenario:
        idx = self.query_one("#sim-scenario", Select).value
        return self.scenarios[int(idx) if isinstance(idx, int) else 0]

    def load_agent(self, agent: Agent, targets: list[TargetChoice], scenarios: list[Scenario]) -> None:
        sel = self.query_one("#sim-target", Select)
        keep = sel.value if self.agent is not None and self.agent.agent_id == agent.agent_id else None
        self.agent = agent
        self.targets = targets
        fill_targets(sel, targets, keep)  # type: ignore[arg-type]
        self.set_scenarios(scenarios)

    def set_scenarios(self, scenarios: list[Scenario], select: int = 0) -> None:
        self.scenarios = scenarios or builtin_scenarios()
        sel = self.query_one("#sim-scenario", Select)
        sel.set_options(self._scenario_options())
        sel.value = min(select, len(self.scenarios) - 1)

    def target(self, key: str | None = None) -> RunTarget:
        """The chosen target, resolved now (the draft is what the editor holds at this moment)."""
        if key is None:
            key = str(self.query_one("#sim-target", Select).value)
        return choice_for(self.targets, key).resolve()

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.sim_workers)

    @on(Button.Pressed, "#sim-run")
    def action_run(self) -> None:
        if self.agent is None:
            self.app.notify("No agent loaded yet.", severity="warning")
            return
        if self.running:
            self.app.notify("A simulation is already running (x cancels it).", severity="warning")
            return
        try:
            target = self.target()
        except (TargetError, UsageError, LookupError) as exc:
            self.app.notify(str(exc), title="Simulation", severity="error", markup=False)
            return
        self._set_ab(False)
        lane = self._start_lane("a", target)
        self.sim_workers = [self._run_lane(lane, target)]

    @on(Button.Pressed, "#sim-ab")
    def action_ab(self) -> None:
        if self.agent is None or self.running:
            return
        choices = [(c.label, c.key) for c in self.targets]
        remote = next((c.key for c in self.targets if c.kind == "remote"), choices[0][1])
        draft = next((c.key for c in self.targets if c.kind == "draft"), choices[-1][1])

        def go(picked: tuple[str, str] | None) -> None:
            if not picked:
                return
            try:
                targets = [self.target(key) for key in picked]
            except (TargetError, UsageError, LookupError) as exc:
                self.app.notify(str(exc), title="A/B", severity="error", markup=False)
                return
            self._set_ab(True)
            from ...workspace.runs import new_run_id

            group = f"ab-{new_run_id()}"
            self.sim_workers = [self._run_lane(self._start_lane(lane_id, t), t, group)
                                for lane_id, t in zip("ab", targets)]

        self.app.push_screen(ABScreen(choices, remote, draft), go)

    def _set_ab(self, on_: bool) -> None:
        self.query_one("#sim-lanes").set_class(on_, "-ab")
        self.query_one("#sim-lane-b").set_class(not on_, "-hidden")
        self.query_one("#sim-compare-box").set_class(True, "-hidden")
        if not on_:
            self.lanes.pop("b", None)  # a single run after an A/B has one lane, not a stale B

    def _start_lane(self, lane_id: str, target: RunTarget) -> SimRun:
        label = target.label
        run = SimRun(self, lane_id, target)
        run.view.clear()
        run.analysis.update("")
        run.analysis_box.set_class(True, "-hidden")
        head = Text()
        if lane_id == "b" or not self.query_one("#sim-lane-b").has_class("-hidden"):
            head.append(f"{lane_id.upper()} ", style="bold reverse")
        head.append(f"▶ {one_line(self.scenario.name, 50)}", style="bold")
        head.append(f" against {one_line(label, 40)}", style="dim")
        run.note(head)
        self.lanes[lane_id] = run
        return run

    def lane_text(self, lane_id: str = "a") -> str:
        """Everything a lane shows, as plain text (tests, copying)."""
        lane = self.lanes.get(lane_id)
        if lane is None:
            return ""
        turns = "\n".join(lane.view.plain(i) for i in range(len(lane.view.turns)))
        analysis = lane.analysis_rich.plain if lane.analysis_rich is not None else ""
        return "\n".join([Text("\n").join(lane.notes).plain, turns, analysis])

    @work(group="simulation")
    async def _run_lane(self, lane: SimRun, target: RunTarget, group: str | None = None) -> None:
        assert self.agent is not None
        agent_id, scenario = self.agent.agent_id, self.scenario
        started = time.time()
        partial: list[Any] = []
        lane.prompt = None
        try:
            lane.prompt = await self.session.runs.prompt_of(agent_id, target)
            async for upd in self.session.simulations.run(agent_id, scenario, target):
                if isinstance(upd, RoadChosen):
                    lane.road = "stream" if upd.road == "stream" else "simulation test"
                    lane.note(Text(f"road: {upd.reason}", style="dim italic"))
                elif isinstance(upd, NewTurns):
                    lane.pending.extend(upd.turns)  # rendered in batches by the 10 Hz tick
                    partial.extend(upd.turns)
                elif isinstance(upd, Progress):
                    lane.note(Text(safe(upd.message), style="dim"))
                elif isinstance(upd, Finished):
                    self._flush(lane)
                    lane.finished = upd.response
                    if lane.turns == 0:
                        for t in upd.response.simulated_conversation:
                            lane.pending.append(t)
                        self._flush(lane)
                    lane.analysis_rich = Text("Analysis  ", style="bold").append_text(
                        analysis_text(upd.response.analysis))
                    lane.analysis.update(lane.analysis_rich)
                    lane.analysis_box.set_class(not self.show_analysis, "-hidden")
                    result = upd.response.analysis.call_successful
                    lane.note(Text(f"{RESULT_ICON.get(result, '?')} {lane.turns} turns · call {safe(result)}",
                                   style=RESULT_STYLE.get(result, "")))  # not a stale "pending"
                    # the analysis box takes room from the transcript: keep its last turns in view
                    lane.view.call_after_refresh(lane.view.scroll_end, animate=False)
                await asyncio.sleep(0)  # a fast stream must never starve key handling
        except asyncio.CancelledError:
            self._flush(lane)
            lane.error = f"cancelled after {lane.turns} turns"
            lane.note(Text(f"■ Cancelled after {lane.turns} turns (stream closed).", style="yellow"))
            raise
        except StreamInterrupted as exc:
            self._flush(lane)
            lane.error = f"interrupted after {lane.turns} turns"
            lane.note(Text(f"⚠ {safe(str(exc))} The partial transcript is kept below.", style="bold red"))
            self.app.notify(str(exc), title="Simulation", severity="error", markup=False)
        except (ConvAIError, UsageError) as exc:
            self._flush(lane)
            lane.error = str(exc)
            lane.note(Text(f"⚠ {safe(str(exc))}", style="bold red"))
            self.app.notify(str(exc), title="Simulation", severity="error", markup=False)
        finally:
            lane.running = False
            self._record(agent_id, scenario, lane, started, partial, group)  # (recorded even when closing)
            if not self._gone:
                self._flush(lane)
                if not self.running or all(not ln.running for ln in self.lanes.values()):
                    self._compare()

    def _record(self, agent_id: str, scenario: Scenario, lane: SimRun, started: float, partial: list[Any],
                group: str | None) -> None:
        """Every simulation is kept in the run history (a cut or cancelled one with what arrived)."""
        try:
            prompt, version_id = lane.prompt or (None, None)
            lane.run_id = self.session.runs.record_simulation(
                agent_id, scenario, lane.target, lane.road, lane.finished, started=started, partial=partial,
                error=lane.error or None, group=group, lane=lane.lane_id if group else None, prompt=prompt,
                version_id=version_id).id
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="Simulation not recorded", severity="error", markup=False)

    def _flush(self, lane: SimRun) -> None:
        """Render pending turns in one batch (fast streams arrive faster than frames)."""
        if not lane.pending:
            return
        pending, lane.pending = lane.pending, []
        lane.view.append_turns(pending)
        lane.turns += len(pending)

    def _tick(self) -> None:
        for lane in self.lanes.values():
            self._flush(lane)
        status = self.query_one("#sim-status", Label)
        if not self.lanes:
            return
        t = Text()
        for lane_id, lane in self.lanes.items():
            if t:
                t.append("   ")
            el = time.monotonic() - lane.started
            name = f"{lane_id.upper()} " if len(self.lanes) > 1 else ""
            road = f" · {lane.road}" if lane.road else ""
            if lane.running:
                spin = SPINNER[int(el * 10) % len(SPINNER)]
                t.append(f"{spin} {name}{lane.turns} turns · {el:4.1f}s{road}")
            elif lane.finished is not None:
                result = lane.finished.analysis.call_successful
                t.append(f"{RESULT_ICON.get(result, '?')} {name}{lane.turns} turns{road} · call {safe(result)}",
                         style=RESULT_STYLE.get(result, ""))
            elif lane.error:
                t.append(f"■ {name}{one_line(lane.error, 60)}", style="yellow")
        status.update(t)

    @property
    def _gone(self) -> bool:
        """The pane's widgets are no longer there (the app is closing and cancelled the lanes)."""
        return not self.is_attached or not self.query("#sim-compare")

    def _compare(self) -> None:
        """With A and B both done: a criterion-by-criterion comparison."""
        a, b = self.lanes.get("a"), self.lanes.get("b")
        box = self.query_one("#sim-compare", Static)
        if self.query_one("#sim-lane-b").has_class("-hidden") or not a or not b or a.running or b.running:
            return
        t = Text()
        t.append("A/B  ", style="bold")
        for lane_id, lane in (("A", a), ("B", b)):
            t.append(f"{lane_id}: ")
            if lane.finished:
                t.append_text(result_text(lane.finished.analysis.call_successful))
                t.append(f", {lane.turns} turns    ")
            else:
                t.append(one_line(lane.error or "no result", 70) + "   ", style="red")
        crits = sorted(set((a.finished.analysis.evaluation_criteria_results or {}) if a.finished else {})
                       | set((b.finished.analysis.evaluation_criteria_results or {}) if b.finished else {}))
        for cid in crits:
            ra = ((a.finished.analysis.evaluation_criteria_results or {}).get(cid) if a.finished else None)
            rb = ((b.finished.analysis.evaluation_criteria_results or {}).get(cid) if b.finished else None)
            t.append(f"\n  {one_line(cid, 24):<24}  A ")
            ta = result_text(ra.result if ra else "unknown")
            t.append_text(ta)
            t.append(" " * max(1, 12 - ta.cell_len) + "B ")
            t.append_text(result_text(rb.result if rb else "unknown"))
            if ra and rb and ra.result != rb.result:
                t.append("   ← differs", style="bold yellow")
        box.update(t)
        self.query_one("#sim-compare-box").set_class(False, "-hidden")

    def action_cancel(self) -> None:
        if not self.running:
            return
        for w in self.sim_workers:
            w.cancel()

    # ------------------------------------------------------------------ scenarios
    def action_edit(self) -> None:
        idx = self.query_one("#sim-scenario", Select).value

        def saved(s: Scenario | None) -> None:
            if s is None:
                return
            i = int(idx) if isinstance(idx, int) else 0
            self.scenarios[i] = s
            self.set_scenarios(self.scenarios, i)
            self._save_scenario(s)

        self.app.push_screen(ScenarioScreen(self.scenario), saved)

    def _save_scenario(self, scenario: Scenario) -> None:
        from ...workspace.errors import ExternalEditConflict

        if self.agent is None:
            return
        try:
            path = self.session.simulations.save_scenario(self.agent.agent_id, scenario)
        except ExternalEditConflict:
            # a file of that name exists that this session did not load: never clobber it
            self.app.notify(f"A scenario file named “{scenario.name}” already exists and was not loaded by this "
                            "session; rename the scenario to keep both.", severity="warning", markup=False)
            return
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="Scenario not saved", severity="error", markup=False)
            return
        self.app.notify(f"Scenario saved to {path}.", markup=False)

    def use_partial_history(self, turns: list[dict[str, Any]], source: str) -> None:
        s = self.scenario
        s.partial_history = turns
        self.query_one("#sim-status", Label).update(
            f"Scenario “{one_line(s.name, 30)}” now continues {len(turns)} turns of {one_line(source, 30)}.")
