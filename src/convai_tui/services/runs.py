"""Run history: record every run, list them (merging runs made elsewhere from the API's invocation
history), open one as it was, compare two, gate CI on regressions against a baseline, retry failures.

Statistics: a test's pass rate is its passed repeats over its repeats (the latest attempt of each, after
retries). Two runs' rates for a test are compared with **Fisher's exact test** (two-sided, on the 2x2
table passed/failed x run A/run B): a difference with p >= 0.05 is reported as *within noise* for that
many repeats (3/5 against 5/5 is: p = 0.44).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator

from ..workspace.runs import (
    RunFile,
    RunHeader,
    RunStore,
    SummaryRow,
    code_status,
    new_run_id,
    status_code,
    utc_iso,
)
from .errors import UsageError
from .targets import RunTarget

if TYPE_CHECKING:
    from ..api.models import AgentTest, SimulationResponse, TestInvocation, TranscriptTurn
    from ..workspace.versions import PromptDraft
    from ..workspace.scenarios import Scenario
    from .session import Session

NOISE_P = 0.05
REMOTE_SYNC_LIMIT = 100  # invocations fetched per sync (newest first)


# ---------------------------------------------------------------------------- statistics
def fisher_exact(a_pass: int, a_fail: int, b_pass: int, b_fail: int) -> float:
    """Two-sided p-value of Fisher's exact test on [[a_pass, a_fail], [b_pass, b_fail]]."""
    n_a, n_b = a_pass + a_fail, b_pass + b_fail
    passes, n = a_pass + b_pass, n_a + n_b
    if n == 0 or n_a == 0 or n_b == 0:
        return 1.0
    denom = math.comb(n, passes)

    def prob(x: int) -> float:  # x passes in A
        return math.comb(n_a, x) * math.comb(n_b, passes - x) / denom

    observed = prob(a_pass)
    lo, hi = max(0, passes - n_b), min(n_a, passes)
    return min(1.0, sum(p for x in range(lo, hi + 1) if (p := prob(x)) <= observed * (1 + 1e-9)))


def wilson(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a pass rate (for showing how sure a rate is)."""
    if total == 0:
        return 0.0, 1.0
    p = passed / total
    d = 1 + z * z / total
    c = p + z * z / (2 * total)
    r = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (c - r) / d), min(1.0, (c + r) / d)


# ---------------------------------------------------------------------------- a run, joined with its retries
@dataclass
class TestOutcome:
    test_id: str
    name: str
    type: str
    attempts: list[str]  # per repeat, every attempt's status code in order ("F" then "P" after a retry)

    @property
    def final(self) -> list[str]:
        return [a[-1] if a else "." for a in self.attempts]

    @property
    def passed(self) -> int:
        return sum(c == "P" for c in self.final)

    @property
    def failed(self) -> int:
        return sum(c == "F" for c in self.final)

    @property
    def total(self) -> int:
        return len(self.attempts)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def flaky(self) -> bool:
        """Passed some runs (repeats or retries) and failed others."""
        codes = "".join(self.attempts)
        return "P" in codes and "F" in codes

    def ok(self, min_pass_rate: float = 1.0) -> bool:
        return self.total > 0 and self.rate >= min_pass_rate - 1e-9


@dataclass
class RunView:
    """A run as it stands after its retries. ``outcomes`` is None until read (a listing needs only the
    header's totals, which are right for a run without retries)."""

    header: RunHeader
    outcomes: list[TestOutcome] | None = None
    retries: list[RunHeader] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.header.id

    def outcome(self, test_id: str) -> TestOutcome | None:
        return next((o for o in self.outcomes or [] if o.test_id == test_id), None)

    @property
    def passed(self) -> int:
        return self.header.passed if self.outcomes is None else sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        return self.header.failed if self.outcomes is None else sum(o.failed for o in self.outcomes)

    @property
    def pass_rate(self) -> float | None:
        done = self.passed + self.failed
        return self.passed / done if done else None

    @property
    def failed_tests(self) -> list[str]:
        if self.outcomes is None:
            return list(self.header.failed_tests)
        return [o.test_id for o in self.outcomes if o.failed]

    @property
    def flaky_tests(self) -> list[str]:
        if self.outcomes is None:
            return list(self.header.flaky_tests)
        return [o.test_id for o in self.outcomes if o.flaky]


# ---------------------------------------------------------------------------- comparison
@dataclass
class TestComparison:
    test_id: str
    name: str
    a: tuple[int, int] | None  # (passed, runs) in A; None: not in A
    b: tuple[int, int] | None
    verdict: str  # newly failing | fixed | still failing | flaky | passing | new | removed
    flaky: bool  # B passed some runs and failed others
    p_value: float | None  # Fisher's exact test, when both ran it

    @property
    def change(self) -> float | None:
        if self.a is None or self.b is None or not self.a[1] or not self.b[1]:
            return None
        return self.b[0] / self.b[1] - self.a[0] / self.a[1]

    @property
    def within_noise(self) -> bool:
        return self.p_value is not None and (self.change or 0) != 0 and self.p_value >= NOISE_P

    @property
    def regression(self) -> bool:
        return self.verdict == "newly failing"

    def to_json(self) -> dict[str, Any]:
        def side(x: tuple[int, int] | None) -> dict[str, Any] | None:
            return None if x is None else {"passed": x[0], "runs": x[1], "rate": round(x[0] / x[1], 4) if x[1] else None}

        return {"test_id": self.test_id, "name": self.name, "a": side(self.a), "b": side(self.b),
                "change": None if self.change is None else round(self.change, 4), "verdict": self.verdict,
                "flaky": self.flaky, "p_value": None if self.p_value is None else round(self.p_value, 4),
                "within_noise": self.within_noise}


@dataclass
class Comparison:
    a: RunView
    b: RunView
    rows: list[TestComparison]
    min_pass_rate: float = 1.0

    def by_verdict(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out

    def regressions(self, *, allow_noise: bool = False) -> list[TestComparison]:
        return [r for r in self.rows if r.regression and not (allow_noise and r.within_noise)]

    def to_json(self) -> dict[str, Any]:
        return {"a": run_json(self.a), "b": run_json(self.b), "min_pass_rate": self.min_pass_rate,
                "verdicts": self.by_verdict(), "statistic": "Fisher's exact test, two-sided, p < 0.05",
                "tests": [r.to_json() for r in self.rows]}


VERDICT_ORDER = {"newly failing": 0, "still failing": 1, "flaky": 2, "fixed": 3, "new": 4, "removed": 5, "passing": 6}


def compare(a: RunView, b: RunView, *, min_pass_rate: float = 1.0) -> Comparison:
    """Per test: the pass rates in A and B with counts, and a verdict for B against A."""
    rows = []
    ids = [o.test_id for o in a.outcomes] + [o.test_id for o in b.outcomes if a.outcome(o.test_id) is None]
    for tid in ids:
        oa, ob = a.outcome(tid), b.outcome(tid)
        name = (ob or oa).name  # type: ignore[union-attr]
        pa = (oa.passed, oa.passed + oa.failed) if oa else None
        pb = (ob.passed, ob.passed + ob.failed) if ob else None
        flaky = bool(ob and ob.flaky)
        p = fisher_exact(pa[0], pa[1] - pa[0], pb[0], pb[1] - pb[0]) if pa and pb and pa[1] and pb[1] else None
        if oa is None:
            verdict = "new"
        elif ob is None:
            verdict = "removed"
        else:
            ok_a, ok_b = oa.ok(min_pass_rate), ob.ok(min_pass_rate)
            verdict = ("passing" if not ob.failed else "flaky") if ok_a and ok_b else \
                "newly failing" if ok_a else "fixed" if ok_b else "still failing"
        rows.append(TestComparison(tid, name, pa, pb, verdict, flaky, p))
    rows.sort(key=lambda r: VERDICT_ORDER.get(r.verdict, 9))
    return Comparison(a, b, rows, min_pass_rate)


def run_json(v: RunView) -> dict[str, Any]:
    h = v.header
    return {"id": h.id, "kind": h.kind, "created": h.created, "target": h.target, "road": h.road, "source": h.source,
            "invocation_id": h.invocation_id, "repeat": h.repeat, "duration_secs": h.duration_secs,
            "pass_rate": v.pass_rate, "passed": v.passed, "failed": v.failed, "failed_tests": v.failed_tests,
            "flaky_tests": v.flaky_tests, "retries": [r.id for r in v.retries], "scenario": h.scenario,
            "call_successful": h.call_successful}


# ---------------------------------------------------------------------------- the service
class RunsService:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._store: RunStore | None = None

    @property
    def store(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(self.s.workspace.root)
        return self._store

    def _dir(self, agent_id: str):  # noqa: ANN202  (a Path)
        return self.s.workspace.agent_dir(agent_id)

    # ------------------------------------------------------------------ recording
    async def prompt_of(self, agent_id: str, target: RunTarget) -> tuple[PromptDraft | None, str | None]:
        """What a target runs, fetched just before a run: a version's or the draft's own prompt, or the
        remote's (main or the branch) as it is now, with its version id; so every record says which
        prompt produced it, by content hash."""
        if target.draft is not None:
            return target.draft, None
        if target.kind not in ("remote", "branch"):
            return None, None
        from ..workspace.versions import agent_draft

        agent = await self.s.agents.get(agent_id, branch_id=target.branch_id if target.kind == "branch" else None)
        return agent_draft(agent), agent.version_id

    def _target_json(self, target: RunTarget, prompt: PromptDraft | None, version_id: str | None) -> dict[str, Any]:
        t = target.describe()
        if prompt is not None and not t.get("content_hash"):
            from ..workspace.versions import draft_hash

            t["content_hash"] = draft_hash(prompt)[:8]
        if version_id:
            t["version_id"] = version_id
        return t

    def record_test_run(self, agent_id: str, tests: list[AgentTest], inv: TestInvocation, target: RunTarget, *,
                        repeat: int, started: float, parent: str | None = None, only: set[str] | None = None,
                        source: str = "local", finished: float | None = None, prompt: PromptDraft | None = None,
                        version_id: str | None = None) -> RunHeader:
        """Keep a finished (or interrupted) test run. ``started``: ``time.time()`` when it began;
        ``prompt``/``version_id``: what ran, when the target is the remote or a branch (see
        :meth:`prompt_of`). With ``parent`` (a retry), only the runs whose ids are in ``only`` are kept."""
        from .tests import condition_of, rationale_of, repeat_index

        by_test: dict[str, dict[int, Any]] = {t.id: {} for t in tests}
        seen: dict[str, int] = {}
        for r in inv.test_runs:
            by_test.setdefault(r.test_id, {})[repeat_index(r, seen)] = r
        names = {t.id: (t.name, t.type, condition_of(t)) for t in tests}
        summary, results = [], []
        for tid, runs in by_test.items():
            name, ttype, cond = names.get(tid, (tid, "?", ""))
            codes = []
            for rep in sorted(runs):
                run = runs[rep]
                if only is not None and run.test_run_id not in only:
                    continue
                codes.append(status_code(run.status))
                cr = run.condition_result
                results.append({"test_id": tid, "test_name": run.test_name or name, "repeat": rep + 1,
                                "status": run.status, "test_run_id": run.test_run_id,
                                "condition": cond, "condition_result": cr.result if cr else None,
                                "rationale": rationale_of(run),
                                "agent_responses": [t.to_wire() for t in run.agent_responses or []]})
            if codes:
                summary.append(SummaryRow(tid, name, ttype, "".join(codes)))
        passed = sum(row.statuses.count("P") for row in summary)
        failed = sum(row.statuses.count("F") for row in summary)
        total = sum(len(row.statuses) for row in summary)
        header = RunHeader(
            id=new_run_id(dt.datetime.fromtimestamp(started, dt.timezone.utc)), kind="test-retry" if parent else "test",
            agent_id=agent_id,
            created=utc_iso(dt.datetime.fromtimestamp(started, dt.timezone.utc)),
            target=self._target_json(target, prompt, version_id), road=target.test_road, source=source,
            invocation_id=inv.id,
            duration_secs=round(max(0.0, (time.time() if finished is None else finished) - started), 3),
            repeat=repeat, parent=parent, tests=len(summary), passed=passed, failed=failed, other=total - passed - failed,
            failed_tests=[r.test_id for r in summary if "F" in r.statuses],
            flaky_tests=[r.test_id for r in summary if "F" in r.statuses and "P" in r.statuses])
        self.store.write(self._dir(agent_id), RunFile(header, summary, _prompt_json(prompt or target.draft),
                                                      results=results))
        return header

    def record_simulation(self, agent_id: str, scenario: Scenario, target: RunTarget, road: str,
                          response: SimulationResponse | None, *, started: float,
                          partial: list[TranscriptTurn] | None = None, error: str | None = None,
                          group: str | None = None, lane: str | None = None, prompt: PromptDraft | None = None,
                          version_id: str | None = None) -> RunHeader:
        """Keep a simulation: its target, scenario, transcript and analysis (or how it ended)."""
        turns = [t.to_wire() for t in (response.simulated_conversation if response else partial or [])]
        an = response.analysis if response else None
        crit = {k: v.result for k, v in ((an.evaluation_criteria_results or {}) if an else {}).items()}
        now = dt.datetime.now(dt.timezone.utc)
        header = RunHeader(
            id=new_run_id(now), kind="simulation", agent_id=agent_id,
            created=utc_iso(dt.datetime.fromtimestamp(started, dt.timezone.utc)),
            target=self._target_json(target, prompt, version_id), road=road,
            duration_secs=round(max(0.0, time.time() - started), 3), scenario=scenario.name,
            call_successful=an.call_successful if an else (f"error: {error}"[:200] if error else None),
            criteria=crit, turns=len(turns), group=group, lane=lane,
            passed=sum(v == "success" for v in crit.values()), failed=sum(v == "failure" for v in crit.values()))
        analysis = an.to_wire() if an else None
        self.store.write(self._dir(agent_id), RunFile(header, [], _prompt_json(prompt or target.draft), turns=turns,
                                                      analysis=analysis))
        return header

    # ------------------------------------------------------------------ listing and loading
    def headers(self, agent_id: str) -> list[RunHeader]:
        """Every recorded run of the agent, newest first (retries included)."""
        return sorted(self.store.headers(self._dir(agent_id)), key=lambda h: (h.created, h.id), reverse=True)

    def list(self, agent_id: str) -> list[RunView]:
        """Runs as they stand after their retries (newest first; retries are folded into their parent)."""
        hs = self.headers(agent_id)
        children: dict[str, list[RunHeader]] = {}
        for h in hs:
            if h.kind == "test-retry" and h.parent:
                children.setdefault(h.parent, []).append(h)
        out = []
        for h in hs:
            if h.kind == "test-retry":
                continue
            kids = sorted(children.get(h.id, []), key=lambda k: (k.created, k.id))
            out.append(self._view(h, kids) if kids else RunView(h))
        return out

    def _view(self, header: RunHeader, retries: list[RunHeader]) -> RunView:
        rows = self.store.summary(header) if header.kind != "simulation" else []
        outcomes = [TestOutcome(r.test_id, r.name, r.type, [c for c in r.statuses]) for r in rows]
        if retries:
            # a retry's results name their repeat: join them as later attempts of those cells
            by_id = {o.test_id: o for o in outcomes}
            for k in retries:
                for res in self.store.load(k).results:
                    o = by_id.get(res.get("test_id", ""))
                    rep = int(res.get("repeat") or 0) - 1
                    if o is not None and 0 <= rep < len(o.attempts):
                        o.attempts[rep] += status_code(str(res.get("status")))
        return RunView(header, outcomes, retries)

    def full(self, view: RunView) -> RunView:
        """The run with its per-test outcomes read (after its retries)."""
        return view if view.outcomes is not None else self._view(view.header, view.retries)

    def view(self, header: RunHeader) -> RunView:
        """A run with its per-test outcomes (after its retries)."""
        kids = [h for h in self.headers(header.agent_id) if h.kind == "test-retry" and h.parent == header.id]
        return self._view(header, sorted(kids, key=lambda k: (k.created, k.id)))

    def load(self, header: RunHeader) -> RunFile:
        return self.store.load(header)

    def results(self, view: RunView) -> dict[tuple[str, int], list[dict[str, Any]]]:
        """Every attempt's recorded result, by (test id, repeat): the original first, then retries."""
        out: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for h in [view.header, *view.retries]:
            for r in self.store.load(h).results:
                out.setdefault((r.get("test_id", ""), int(r.get("repeat") or 1) - 1), []).append(r)
        return out

    def resolve(self, agent_id: str, ref: str, *, kind: str = "test", exclude: str | None = None) -> RunView:
        """A run by id (or a unique prefix), ``latest``, a version (``v3``: its most recent run, by the
        content of that version), ``remote``/``main``, ``draft`` or ``branch:NAME``."""
        runs = [v for v in self.list(agent_id) if v.header.id != exclude and v.header.kind == kind]
        r = ref.strip()
        if not runs:
            raise UsageError(f"no recorded {kind} runs for {agent_id} yet (they are kept under "
                             f"{self.store.runs_dir(self._dir(agent_id))})")
        exact = [v for v in runs if v.header.id == r]
        if exact:
            return exact[0]
        if r == "latest":
            return runs[0]
        low = r.lower()
        if low in ("remote", "main"):
            match = [v for v in runs if v.header.target.get("kind") == "remote"]
        elif low == "draft":
            match = [v for v in runs if v.header.target.get("kind") == "draft"]
        elif low.startswith("branch:"):
            name = r.split(":", 1)[1]
            match = [v for v in runs if v.header.target.get("kind") == "branch"
                     and name in (v.header.target.get("branch_name"), v.header.target.get("branch_id"))]
        elif low.startswith("v") and low[1:].isascii() and low[1:].isdigit():
            number = int(low[1:])
            from ..workspace.versions import draft_hash

            v = next((x for x in self.s.prompts.versions(agent_id) if x.number == number), None)
            h = draft_hash(v.draft)[:8] if v else None
            match = [x for x in runs if x.header.target.get("version") == number
                     or (h and x.header.target.get("content_hash") == h)]
        else:
            match = [v for v in runs if v.header.id.startswith(r)]
            if len(match) > 1:
                raise UsageError(f"{ref!r} matches {len(match)} runs: give more of the id")
        if not match:
            raise UsageError(f"no recorded {kind} run matches {ref!r} (try `convai-tui runs list`)")
        return match[0]

    def partner(self, view: RunView) -> tuple[RunView, RunView] | None:
        """(A, B): the run made together with this one (the other lane of its A/B), in lane order, or the
        same kind's run just before it; None when there is none."""
        runs = self.list(view.header.agent_id)
        if view.header.group:
            pair = [v for v in runs if v.header.group == view.header.group]
            if len(pair) == 2:
                a, b = sorted(pair, key=lambda v: (v.header.lane or "", v.header.created, v.id))
                return a, b
        older = [v for v in runs if v.header.kind == view.header.kind
                 and (v.header.created, v.id) < (view.header.created, view.id)]
        return (older[0], view) if older else None

    def compare(self, a: RunView, b: RunView, *, min_pass_rate: float = 1.0) -> Comparison:
        if a.header.kind != b.header.kind:
            raise UsageError(f"cannot compare a {a.header.kind} run with a {b.header.kind} run")
        return compare(self.full(a), self.full(b), min_pass_rate=min_pass_rate)

    # ------------------------------------------------------------------ runs made elsewhere
    async def sync_remote(self, agent_id: str, *, limit: int = REMOTE_SYNC_LIMIT) -> int:
        """Merge the agent's invocations that this workspace has not recorded (made in the dashboard, by
        CI, on another machine) from ``GET /v1/convai/test-invocations``; returns how many were added."""
        c = await self.s.client()
        known = {h.invocation_id for h in self.headers(agent_id) if h.invocation_id}
        agent = None
        branches: dict[str, str] = {}
        added = 0
        cursor: str | None = None
        seen = 0
        while seen < limit:
            page = await c.list_invocations(agent_id=agent_id, cursor=cursor, page_size=min(50, limit))
            for s in page.results:
                seen += 1
                if s.id in known or s.pending_count:
                    continue
                if agent is None:
                    agent, bl = await self.s.agents.with_branches(agent_id)
                    branches = {b.id: b.name for b in bl}
                inv = await c.get_invocation(s.id)
                override = bool(inv.ran_against_draft or s.ran_against_draft)
                target = _remote_target(inv.branch_id or s.branch_id, agent.main_branch_id, branches, override)
                prompt = None
                if s.version_id and not override:  # what ran: that version's prompt, so it counts as evidence
                    from ..api.errors import ConvAIError
                    from ..workspace.versions import agent_draft

                    try:
                        prompt = agent_draft(await c.get_agent(agent_id, version_id=s.version_id))
                    except ConvAIError:
                        prompt = None
                started = float(s.created_at_unix_secs or inv.created_at or time.time())
                self.record_test_run(agent_id, tests_of_invocation(inv), inv, target, repeat=inv.repeat_count or 1,
                                     started=started, source="remote", finished=started, prompt=prompt,
                                     version_id=s.version_id)
                added += 1
            if not page.has_more or not page.next_cursor:
                break
            cursor = page.next_cursor
        return added

    # ------------------------------------------------------------------ retrying failures
    def retry_plan(self, view: RunView) -> tuple[list[str], RunTarget]:
        """The test run ids to resubmit (every failed repeat of a failing or flaky test), and the target
        the run had (the same override or branch)."""
        if view.header.kind != "test":
            raise UsageError("only test runs can be retried")
        if not view.header.invocation_id:
            raise UsageError("this run has no invocation id to resubmit")
        results = self.results(view)
        ids = []
        for o in view.outcomes:
            for rep, code in enumerate(o.final):
                if code == "F":
                    attempts = results.get((o.test_id, rep)) or []
                    if attempts and attempts[-1].get("test_run_id"):
                        ids.append(str(attempts[-1]["test_run_id"]))
        if not ids:
            raise UsageError("nothing to retry: no run of it failed")
        return ids, target_of(view.header, self.load(view.header).prompt)

    async def retry(self, agent_id: str, view: RunView, tests: list[AgentTest]) -> AsyncIterator[TestInvocation]:
        """Resubmit the failed runs of ``view`` (same target); yields the invocation as it fills, then
        records the retry, which joins the run."""
        ids, target = self.retry_plan(view)
        c = await self.s.client()
        inv_id = view.header.invocation_id
        assert inv_id is not None
        started = time.time()
        await c.resubmit_invocation(inv_id, ids, agent_id=agent_id, branch_id=target.run_branch_id,
                                    agent_config_override=target.override())
        inv = None
        async for inv in c.poll_invocation(inv_id, initial_interval=0.25, max_interval=2.0):
            yield inv
        if inv is not None:
            self.record_test_run(agent_id, tests_of_invocation(inv, tests), inv, target, repeat=view.header.repeat,
                                 started=started, parent=view.header.id, only=set(ids))


# ---------------------------------------------------------------------------- helpers
def _prompt_json(d: PromptDraft | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"prompt": d.prompt, "first_message": d.first_message, "llm": d.llm, "temperature": d.temperature}


def target_of(header: RunHeader, prompt: dict[str, Any] | None) -> RunTarget:
    """The target a recorded run ran against, rebuilt (with its prompt, for an override)."""
    from ..workspace.versions import PromptDraft

    t = header.target
    kind = t.get("kind")
    draft = None
    if prompt:
        draft = PromptDraft(str(prompt.get("prompt") or ""), str(prompt.get("first_message") or ""),
                            str(prompt.get("llm") or ""), prompt.get("temperature"))
    if kind == "branch" and t.get("branch_id"):
        return RunTarget.for_branch(str(t["branch_id"]), str(t.get("branch_name") or t["branch_id"]))
    if kind in ("version", "draft") and draft is not None:
        return RunTarget(kind, branch_id=t.get("branch_id"), branch_name=t.get("branch_name"),
                         version=t.get("version"), draft=draft)
    if kind in ("version", "draft", "override"):
        raise UsageError("this run's prompt was not recorded (it was made elsewhere): it cannot be rerun as it was")
    return RunTarget.remote()


def _remote_target(branch_id: str | None, main_id: str | None, branches: dict[str, str], override: bool) -> RunTarget:
    if override:  # its prompt never reached this workspace
        return RunTarget("override", branch_id=branch_id if branch_id != main_id else None)
    if branch_id and branch_id != main_id:
        return RunTarget.for_branch(branch_id, branches.get(branch_id, branch_id))
    return RunTarget.remote()


def tests_of_invocation(inv: TestInvocation, known: list[AgentTest] | None = None) -> list[AgentTest]:
    """The tests of an invocation, in its order: the ``known`` ones as they are, the others (deleted since,
    or made elsewhere) named from the invocation's own runs."""
    from ..api.models import AgentTest

    by_id = {t.id: t for t in known or []}
    out: dict[str, AgentTest] = {}
    for r in inv.test_runs:
        if r.test_id in by_id:
            out.setdefault(r.test_id, by_id[r.test_id])
        elif r.test_id not in out:
            info = r.test_info or {}
            out[r.test_id] = AgentTest.model_construct(id=r.test_id, name=r.test_name or info.get("name") or r.test_id,
                                                       type=str(info.get("type") or "llm"),
                                                       success_condition=info.get("success_condition"))
    return list(out.values())
