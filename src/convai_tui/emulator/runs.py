"""Agent tests, test runs and invocations (the run history, per agent).

An :class:`Invocation` is one run-tests call: ``repeat_count`` :class:`TestRunRecord` per test,
each pinned to the version (and branch, and optional ad-hoc override) it runs against. A run
stays ``pending`` until its ``ready_at`` (monotonic clock), then shows its verdict, which the
brain works out the first time it is needed. Resubmitting runs pins them to the new target and
makes them pending again. The seeded history is materialised the first time it is read.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ..api.models import TranscriptTurn
from . import seed as S
from .agents import AgentRecord, Version, deep_merge, tool_mocks_of
from .brain import AgentView, PersonaView, Simulation, ToolMock, h, judge

# The fields the published API returns for each test type (GET agent-testing/{id} adds id and name;
# a run's test_info has exactly these). tests/test_spec_conformance.py checks them against the document.
_COMMON = ("from_conversation_metadata", "dynamic_variables", "chat_history", "conversation_initiation_source",
           "environment", "type")
TEST_FIELDS: dict[str, tuple[str, ...]] = {
    "llm": _COMMON + ("success_condition", "success_examples", "failure_examples"),
    "tool": _COMMON + ("tool_call_parameters", "check_any_tool_matches"),
    "simulation": _COMMON + ("success_condition", "success_conditions", "simulation_scenario",
                             "simulation_max_turns", "simulation_environment", "tool_mock_config",
                             "tool_mock_overrides", "evaluation_model", "simulated_user_model"),
}
TEST_TYPE_METADATA = {"llm": "llm", "tool": "tool_call", "simulation": "simulation"}


def test_type(t: dict[str, Any]) -> str:
    return t.get("type") or "llm"


def test_info(t: dict[str, Any]) -> dict[str, Any]:
    """A test as a run's ``test_info`` shows it (``ResponseUnitTestModel`` and its siblings)."""
    fields = TEST_FIELDS.get(test_type(t), TEST_FIELDS["llm"])
    out = {k: t[k] for k in fields if k in t}
    out["type"] = test_type(t)
    return out


def test_public(t: dict[str, Any]) -> dict[str, Any]:
    """A test as ``GET agent-testing/{id}`` returns it."""
    return {"id": t["id"], "name": t["name"], **test_info(t)}


def test_summary(t: dict[str, Any]) -> dict[str, Any]:
    """``UnitTestSummaryResponseModel``."""
    return {"id": t["id"], "name": t["name"], "access_info": S.CREATOR,
            "created_at_unix_secs": t["created_at_unix_secs"],
            "last_updated_at_unix_secs": t["last_updated_at_unix_secs"], "type": test_type(t),
            "entity_type": "test", "folder_parent_id": None, "folder_path": []}


@dataclass
class Verdict:
    ok: bool
    responses: list[dict[str, Any]]
    messages: list[str]
    summary: str


@dataclass(eq=False)
class Target:
    """What a run runs against: a version, plus an optional ad-hoc override (a local draft)."""

    rec: AgentRecord
    version: Version
    override: dict[str, Any] | None = None  # {"conversation_config": ..., "platform_settings": ...}

    def view(self) -> AgentView:
        return self.rec.view(override=self.override, version=self.version)

    def tool_mocks(self) -> dict[str, ToolMock]:
        cfg = self.version.conversation_config
        if self.override and self.override.get("conversation_config"):
            cfg = deep_merge(cfg, self.override["conversation_config"])
        return tool_mocks_of(cfg)

    @property
    def key(self) -> str:
        return self.version.id + (json.dumps(self.override, sort_keys=True) if self.override else "")


class Evaluator:
    """Test verdicts from the brain, cached: the same test on the same config gives the same verdict."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], Verdict] = {}

    def __call__(self, target: Target, test: dict[str, Any], repeat: int) -> Verdict:
        key = (target.key, json.dumps(test, sort_keys=True, default=str), repeat)
        v = self._cache.get(key)
        if v is None:
            v = self._cache[key] = evaluate(target, test, repeat)
        return v


def evaluate(target: Target, test: dict[str, Any], repeat: int) -> Verdict:
    view = target.view()
    ttype = test_type(test)
    history = [TranscriptTurn.model_validate(t) for t in test.get("chat_history") or []]
    if ttype == "simulation":
        persona = PersonaView(prompt=test.get("simulation_scenario") or "")
        mocks = target.tool_mocks()
        for tool, lst in (test.get("tool_mock_overrides") or {}).items():
            if lst:
                mocks[tool] = ToolMock(lst[0].get("mock_result", ""), bool(lst[0].get("is_error")))
        sim = Simulation(view, persona, tool_mocks=mocks, history=history,
                         turns_limit=2 * (test.get("simulation_max_turns") or 10))
        responses = list(sim.turns())
        conds = list(test.get("success_conditions") or [])
        if test.get("success_condition"):
            conds.append(test["success_condition"])
        verdicts = [judge(cnd, responses, agent=view) for cnd in conds]
        ok = all(v.ok for v in verdicts) if verdicts else sim.ended_naturally
        msgs = [f"{cnd}: {'met' if v.ok else 'not met'} - {v.rationale}" for cnd, v in zip(conds, verdicts)]
        summary = "All success conditions were met." if ok else "Some success conditions were not met."
    else:
        sim = Simulation(view, PersonaView(prompt=""), tool_mocks=target.tool_mocks(), history=history,
                         turns_limit=6)
        last_user = next((t.message or "" for t in reversed(history) if t.role == "user"), "")
        responses = sim.agent_reply(last_user, 1) if history and history[-1].role == "user" \
            else list(sim.turns())[:1]
        if ttype == "tool":
            ok, msgs = _judge_tool(test.get("tool_call_parameters") or {}, responses)
            summary = "The expected tool call was made." if ok else "The expected tool call was not made."
        else:
            v = judge(test.get("success_condition") or "", history + responses, focus=responses, agent=view)
            ok, msgs, summary = bool(v.ok), [v.rationale], v.rationale
    # Flakiness: a hot model (temperature > 0.7) sometimes flips a verdict on a repeat.
    if view.temperature > 0.7 and repeat > 0 and h(test.get("id"), repeat, view.prompt) % 4 == 0:
        ok = not ok
        msgs = msgs + [f"(run {repeat + 1} varied: temperature {view.temperature} makes replies unstable)"]
        summary = "Passed on this run despite earlier failures." if ok else "Failed on this run: the reply varied."
    return Verdict(ok, [t.to_wire() for t in responses], msgs, summary)


@dataclass(eq=False)
class TestRunRecord:
    test_run_id: str
    invocation_id: str
    test_id: str
    test: dict[str, Any]  # the test as it was when the run was made
    repeat_index: int
    target: Target
    ready_at: float  # time.monotonic() when the verdict is due (0: already due)
    evaluator: Evaluator
    status: str = "pending"
    updated_at: int = field(default_factory=lambda: int(time.time()))
    verdict: Verdict | None = None

    @property
    def agent_id(self) -> str:
        return self.target.rec.agent_id

    def settle(self, now: float) -> None:
        if self.status == "pending" and now >= self.ready_at:
            self.verdict = self.evaluator(self.target, self.test, self.repeat_index)
            self.status = "passed" if self.verdict.ok else "failed"
            self.updated_at = max(self.updated_at, int(time.time()) if self.ready_at else self.updated_at)

    def rerun(self, target: Target, ready_at: float) -> None:
        self.target, self.ready_at, self.status, self.verdict = target, ready_at, "pending", None
        self.updated_at = int(time.time())

    def to_json(self) -> dict[str, Any]:
        """``UnitTestRunResponseModel``."""
        ttype = test_type(self.test)
        out: dict[str, Any] = {
            "test_run_id": self.test_run_id, "test_info": test_info(self.test),
            "test_invocation_id": self.invocation_id, "agent_id": self.agent_id,
            "branch_id": self.target.version.branch_id, "version_id": self.target.version.id,
            "ran_against_draft": self.target.override is not None, "status": self.status,
            "test_id": self.test_id, "test_name": self.test.get("name") or "Unknown Test",
            "last_updated_at_unix": self.updated_at,
            "metadata": {"workspace_id": "demo-workspace", "test_name": self.test.get("name") or "Unknown Test",
                         "ran_by_user_email": "demo@example.com",
                         "test_type": TEST_TYPE_METADATA.get(ttype, "llm")},
        }
        if self.verdict is not None and self.status in ("passed", "failed"):
            v = self.verdict
            out["agent_responses"] = v.responses
            out["condition_result"] = {"result": "success" if v.ok else "failure",
                                       "rationale": {"messages": v.messages, "summary": v.summary}}
        return out


@dataclass(eq=False)
class Invocation:
    id: str
    agent_id: str
    target: Target  # what the invocation was made against (its runs may be resubmitted elsewhere)
    created_at: int
    repeat_count: int
    test_ids: list[str]
    title: str
    name: str | None = None  # the user-given name (SDK 2.78.0's ``name``)
    cancelled: bool = False
    runs: list[TestRunRecord] = field(default_factory=list)
    materialize: Callable[["Invocation"], None] | None = None  # seeded history: runs made on first read

    def ensure(self) -> None:
        if self.materialize is not None:
            make, self.materialize = self.materialize, None
            make(self)

    def settle(self) -> None:
        self.ensure()
        now = time.monotonic()
        for r in self.runs:
            r.settle(now)

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "pending": 0, "cancelled": 0}
        for r in self.runs:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        """``GetTestSuiteInvocationResponseModel`` (+ SDK 2.78.0's ``name`` and ``cancelled``)."""
        self.settle()
        runs = [r.to_json() for r in self.runs]
        groups = []
        if self.repeat_count > 1:
            for tid in self.test_ids:
                trs = [r for r in self.runs if r.test_id == tid]
                buckets: dict[str, list[str]] = {}
                for r in trs:
                    buckets.setdefault(r.status, []).append(r.test_run_id)
                groups.append({"test_id": tid, "test_name": trs[0].test.get("name", tid) if trs else tid,
                               "buckets": [{"test_run_ids": ids, "title": s.capitalize(),
                                            "reason": f"{len(ids)} of {len(trs)} run(s) {s}", "status": s}
                                           for s, ids in buckets.items()]})
        pending = any(r.status == "pending" for r in self.runs)
        out = {"id": self.id, "agent_id": self.agent_id, "branch_id": self.target.version.branch_id,
               "version_id": self.target.version.id, "ran_against_draft": self.target.override is not None,
               "created_at": self.created_at, "repeat_count": self.repeat_count,
               "bucketing_status": None if self.repeat_count == 1 else ("pending" if pending else "completed"),
               "result_groups": groups, "test_runs": runs, "cancelled": self.cancelled}
        if self.name is not None:
            out["name"] = self.name
        return out

    def summary(self) -> dict[str, Any]:
        """``TestInvocationSummaryResponseModel`` (an item of the run history)."""
        self.settle()
        c = self.counts()
        versions = {r.target.version.id for r in self.runs}
        return {"id": self.id, "agent_id": self.agent_id, "branch_id": self.target.version.branch_id,
                "version_id": self.target.version.id, "ran_against_draft": self.target.override is not None,
                "runs_diverged_from_version": len(versions) > 1 or versions != {self.target.version.id},
                "created_at_unix_secs": self.created_at, "test_run_count": len(self.runs),
                "passed_count": c["passed"], "failed_count": c["failed"], "pending_count": c["pending"],
                "title": self.title, "access_info": S.CREATOR, "repeat_count": self.repeat_count}


def make_runs(inv: Invocation, tests: dict[str, dict[str, Any]], evaluator: Evaluator, *, delay_s: float,
              deterministic: bool = False) -> None:
    """Append ``repeat_count`` pending runs per test, staggered so the grid fills over ``delay_s``."""
    base = time.monotonic() + delay_s if delay_s >= 0 else 0.0
    for tid in inv.test_ids:
        t = tests[tid]
        for rep in range(inv.repeat_count):
            idx = len(inv.runs)
            rid = (f"run_{h(inv.id, tid, rep):016x}" if deterministic else f"run_{uuid.uuid4().hex[:20]}")
            ready = 0.0 if delay_s < 0 else base + delay_s * 0.15 * (idx % 12) + 0.01 * idx
            inv.runs.append(TestRunRecord(rid, inv.id, tid, dict(t), rep, inv.target, ready, evaluator,
                                          updated_at=inv.created_at))


def _dig(obj: Any, path: str) -> Any:
    cur = obj
    for part in [p for p in re.split(r"[.\[\]]", path) if p]:
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def _judge_tool(params: dict[str, Any], responses: list[TranscriptTurn]) -> tuple[bool, list[str]]:
    ref = (params.get("referenced_tool") or {}).get("id", "")
    absent = bool(params.get("verify_absence"))
    calls = [tc for t in responses if t.tool_calls for tc in t.tool_calls]
    match = next((tc for tc in calls if tc.tool_name == ref or tc.tool_id == ref), None)
    called = ", ".join(tc.tool_name for tc in calls) or "no tool"
    if absent:
        return match is None, [f"{ref} was {'called' if match else 'not called'} (expected absent); called: {called}."]
    if match is None:
        return False, [f"{ref} was not called; the agent called {called}."]
    try:
        args = json.loads(match.params_as_json or "{}")
    except ValueError:
        args = {}
    msgs = [f"{ref} was called with {match.params_as_json}."]
    ok = True
    for p in params.get("parameters") or []:
        path, ev = p.get("path", ""), p.get("eval") or {}
        val = _dig(args, path)
        kind = ev.get("type")
        if kind == "exact":
            good = str(val) == str(ev.get("expected_value"))
            why = f"{path} = {val!r}, expected exactly {ev.get('expected_value')!r}"
        elif kind == "regex":
            try:
                good = val is not None and re.search(ev.get("pattern") or "", str(val)) is not None
                why = f"{path} = {val!r} {'matches' if good else 'does not match'} /{ev.get('pattern')}/"
            except re.error as exc:
                good, why = False, f"{path}: bad pattern ({exc})"
        elif kind == "llm":
            good = val not in (None, "")
            why = f"{path} = {val!r} judged against: {ev.get('description')}"
        else:
            good = val is not None
            why = f"{path} {'is present' if good else 'is missing'}"
        ok = ok and good
        msgs.append(("✓ " if good else "✗ ") + why)
    return ok, msgs
