"""Agent tests: the agent's test set, running it against a target, reports, creating tests (from a
conversation too) and syncing test files with the workspace."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator

from .errors import UsageError
from .targets import RunTarget

if TYPE_CHECKING:
    from ..api.models import Agent, AgentTest, AgentTestBody, Conversation, TestInvocation, TestRun
    from .session import Session

__test__ = False  # not a pytest module, whatever its name


@dataclass
class TestSet:
    """An agent's tests; ``missing``: attached ids that could not be read (deleted tests stay attached)."""

    tests: list[AgentTest]
    missing: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    run: int  # 1-based repeat number
    status: str
    test_run_id: str
    rationale: str


@dataclass
class TestRow:
    id: str
    name: str
    type: str
    condition: str
    runs: list[RunResult]
    passed_runs: int
    done: int
    pass_rate: float
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "passed_runs": self.passed_runs,
                "runs": len(self.runs), "done": self.done, "pass_rate": round(self.pass_rate, 4),
                "passed": self.passed, "condition": self.condition,
                "results": [{"run": r.run, "status": r.status, "test_run_id": r.test_run_id,
                             "rationale": r.rationale} for r in self.runs]}


@dataclass
class TestReport:
    agent_id: str
    target: RunTarget
    invocation_id: str
    repeat: int
    min_pass_rate: float
    rows: list[TestRow]
    elapsed: float = 0.0
    missing: list[str] = field(default_factory=list)
    run_id: str | None = None  # the run record that keeps it (services.runs)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "run_id": self.run_id, "target": self.target.describe(),
                "road": self.target.test_road,
                "invocation_id": self.invocation_id, "repeat": self.repeat, "min_pass_rate": self.min_pass_rate,
                "passed": self.passed, "missing_tests": self.missing, "tests": [r.to_json() for r in self.rows]}


@dataclass
class TestsPushResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


for _cls in (TestSet, TestRow, TestReport, TestsPushResult):
    setattr(_cls, "__test__", False)  # API names that start with "Test", not pytest classes


def condition_of(test: AgentTest | AgentTestBody) -> str:
    """What a test checks, in one line (llm: the condition; simulation: its conditions; tool: the call)."""
    if test.success_condition:
        return test.success_condition
    if test.success_conditions:
        return "; ".join(test.success_conditions)
    tcp = test.tool_call_parameters
    if tcp and tcp.referenced_tool:
        return f"{'does not call' if tcp.verify_absence else 'calls'} {tcp.referenced_tool.id}"
    return ""


def rationale_of(run: TestRun) -> str:
    """The verdict's summary and messages, each once."""
    cr = run.condition_result
    if cr is None or cr.rationale is None:
        return ""
    parts: list[str] = []
    for p in [cr.rationale.summary or ""] + list(cr.rationale.messages or []):
        if p and p not in parts:
            parts.append(p)
    return "\n".join(parts)


def repeat_index(run: TestRun, seen: dict[str, int]) -> int:
    """The repeat a run belongs to: the server's ``repeat_index`` when it gives one, else the order."""
    rep = (run.__pydantic_extra__ or {}).get("repeat_index")
    if not isinstance(rep, int) or rep < 0:
        rep = seen.get(run.test_id, 0)
    seen[run.test_id] = rep + 1
    return rep


def matches(test: AgentTest, patterns: list[str]) -> bool:
    if not patterns:
        return True
    name = test.name.lower()
    return any(fnmatch.fnmatchcase(name, p.lower()) or fnmatch.fnmatchcase(test.id, p) or p.lower() in name
               for p in patterns)


class TestsService:
    __test__ = False

    def __init__(self, session: Session) -> None:
        self.s = session

    # ------------------------------------------------------------------ the test set
    async def for_agent(self, agent: Agent, *, only: list[str] | None = None,
                        all_when_none_attached: bool = True) -> TestSet:
        """The agent's attached tests (every test when none are attached), fetched concurrently. A test
        that cannot be read (deleted but still attached) is listed in ``missing``, never fatal."""
        import asyncio

        from ..api.errors import ConvAIError, NotFoundError

        c = await self.s.client()
        ids = agent.attached_test_ids
        if not ids and all_when_none_attached:
            ids = [t.id async for t in c.iter_tests()]
        sem = asyncio.Semaphore(8)
        missing: list[str] = []

        async def one(tid: str) -> AgentTest | None:
            async with sem:
                try:
                    return await c.get_test(tid)
                except NotFoundError:
                    missing.append(f"{tid} (attached, but the test no longer exists)")
                except ConvAIError as exc:
                    if exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429:
                        raise  # the API is down: not a dangling test
                    missing.append(f"{tid} ({exc.message})")
                return None

        got = await asyncio.gather(*(one(t) for t in ids))
        tests = [t for t in got if t is not None and matches(t, only or [])]
        return TestSet(tests, missing)

    # ------------------------------------------------------------------ running
    async def start(self, agent_id: str, tests: list[AgentTest], target: RunTarget, *, repeat: int = 1,
                    name: str | None = None) -> TestInvocation:
        from ..api.models import RunTestsRequest, TestRef

        if not tests:
            raise UsageError("no tests to run")
        if not 1 <= repeat <= 20:
            raise UsageError("the repeat count must be between 1 and 20")
        req = RunTestsRequest(tests=[TestRef(test_id=t.id) for t in tests], repeat_count=repeat,
                              branch_id=target.run_branch_id, agent_config_override=target.override(),
                              name=name or f"convai-tui: {target.label}")
        return await (await self.s.client()).run_tests(agent_id, req)

    async def poll(self, invocation_id: str, *, initial_interval: float = 0.25, max_interval: float = 3.0,
                   timeout: float | None = None) -> AsyncIterator[TestInvocation]:
        c = await self.s.client()
        async for inv in c.poll_invocation(invocation_id, initial_interval=initial_interval,
                                           max_interval=max_interval, timeout=timeout):
            yield inv

    async def cancel(self, invocation_id: str) -> None:
        await (await self.s.client()).cancel_invocation(invocation_id)

    def report(self, agent_id: str, tests: list[AgentTest], inv: TestInvocation, target: RunTarget, *,
               repeat: int, min_pass_rate: float = 1.0, elapsed: float = 0.0,
               missing: list[str] | None = None) -> TestReport:
        if not 0.0 <= min_pass_rate <= 1.0:
            raise UsageError("the minimum pass rate must be between 0 and 1")
        by_test: dict[str, dict[int, TestRun]] = {t.id: {} for t in tests}
        seen: dict[str, int] = {}
        for r in inv.test_runs:
            by_test.setdefault(r.test_id, {})[repeat_index(r, seen)] = r
        rows = []
        for t in tests:
            runs = [by_test[t.id][k] for k in sorted(by_test.get(t.id, {}))]
            passed = sum(r.status == "passed" for r in runs)
            done = sum(r.status in ("passed", "failed") for r in runs)
            rate = passed / len(runs) if runs else 0.0
            rows.append(TestRow(
                t.id, t.name, t.type, condition_of(t),
                [RunResult(i + 1, r.status, r.test_run_id, rationale_of(r)) for i, r in enumerate(runs)],
                passed, done, rate, bool(runs) and rate >= min_pass_rate - 1e-9))
        return TestReport(agent_id, target, inv.id, repeat, min_pass_rate, rows, elapsed, list(missing or []))

    async def run(self, agent_id: str, tests: list[AgentTest], target: RunTarget, *, repeat: int = 1,
                  timeout: float | None = None) -> AsyncIterator[TestInvocation]:
        """Start a run and follow it: yields the invocation as it fills (the last one is finished)."""
        inv = await self.start(agent_id, tests, target, repeat=repeat)
        yield inv
        if inv.is_finished:
            return
        async for inv in self.poll(inv.id, timeout=timeout):
            yield inv

    # ------------------------------------------------------------------ creating tests
    async def create(self, agent: Agent, body: AgentTestBody, *, attach: bool = True) -> str:
        from ..api.models import AgentUpdate

        c = await self.s.client()
        made = await c.create_test(body)
        if attach:
            fresh = await c.get_agent(agent.agent_id)  # attach to what is there now, not to a stale copy
            attached = [{"test_id": t} for t in fresh.attached_test_ids if t != made.id] + [{"test_id": made.id}]
            await c.update_agent(agent.agent_id, AgentUpdate(platform_settings={"testing": {"attached_tests": attached}}))
        return made.id

    @staticmethod
    def from_conversation(conv: Conversation, upto: int, *, name: str, success_condition: str,
                          success_examples: list[str] | None = None,
                          failure_examples: list[str] | None = None) -> AgentTestBody:
        """An llm test whose chat history is the conversation up to and including turn ``upto`` (the last
        caller turn at or before it); the agent's original reply is kept as metadata."""
        from ..api.models import AgentTestBody, FromConversationMetadata, ResponseExample

        if not 0 <= upto < len(conv.transcript):
            raise UsageError(f"the turn must be between 0 and {len(conv.transcript) - 1} for this conversation")
        turns = conv.transcript[: upto + 1]
        while turns and turns[-1].role != "user":
            turns = turns[:-1]
        if not turns:
            raise UsageError("pick a turn at or after the caller's first message")
        if not name.strip() or not success_condition.strip():
            raise UsageError("a test needs a name and a success condition")
        reply = [t for t in conv.transcript[len(turns):len(turns) + 3] if t.role == "agent"][:1]
        return AgentTestBody(
            name=name, type="llm", chat_history=turns, success_condition=success_condition,
            success_examples=[ResponseExample(response=s, type="success") for s in success_examples or [] if s.strip()],
            failure_examples=[ResponseExample(response=s, type="failure") for s in failure_examples or [] if s.strip()],
            from_conversation_metadata=FromConversationMetadata(
                conversation_id=conv.conversation_id, agent_id=conv.agent_id, branch_id=conv.branch_id,
                original_agent_reply=reply or None),
        )

    async def create_from_conversation(self, conv: Conversation, upto: int, *, name: str, success_condition: str,
                                       success_examples: list[str] | None = None,
                                       failure_examples: list[str] | None = None,
                                       attach: bool = True) -> tuple[str, AgentTestBody, str]:
        """Create (and attach) the test, then save it in the workspace: (test id, body, where it was saved
        or why it was not)."""
        from ..workspace.errors import WorkspaceError

        body = self.from_conversation(conv, upto, name=name, success_condition=success_condition,
                                      success_examples=success_examples, failure_examples=failure_examples)
        agent = await self.s.agents.get(conv.agent_id)
        test_id = await self.create(agent, body, attach=attach)
        try:
            path = self.s.workspace.save_test(conv.agent_id, body, remote_id=test_id, synced=True)
            where = str(path)
        except WorkspaceError as exc:
            where = f"not saved to the workspace: {exc}"
        return test_id, body, where

    # ------------------------------------------------------------------ syncing test files
    async def pull_files(self, agent: Agent) -> tuple[list[str], list[str]]:
        """Write the agent's tests into the workspace: (files written, notes on what was kept). A file
        edited locally is never overwritten; a dangling attachment is reported, not fatal."""
        from ..api.models import AgentTestBody
        from ..workspace.store import body_hash

        ws = self.s.workspace
        written: list[str] = []
        kept: list[str] = []
        local = {t.sync.remote_id: t for t in ws.tests(agent.agent_id) if t.sync.remote_id}
        ts = await self.for_agent(agent, all_when_none_attached=False)
        kept.extend(f"{m}: not pulled" for m in ts.missing)
        for remote in ts.tests:
            body = AgentTestBody.model_validate({k: v for k, v in remote.to_wire().items() if k != "id"})
            mine = local.get(remote.id)
            if mine is None:
                written.append(ws.save_test(agent.agent_id, body, remote_id=remote.id, synced=True).name)
            elif mine.changed_since_sync:
                kept.append(f"{mine.path.name} (edited locally: not overwritten; push it or revert it)")
            elif body_hash(body) != mine.sync.synced_hash:
                ws.save_test(agent.agent_id, body, remote_id=remote.id, synced=True, path=mine.path)
                written.append(mine.path.name)
        return written, kept

    async def push_files(self, agent_id: str, *, delete_remote: bool = False) -> TestsPushResult:
        """Create local-only tests, update changed ones, attach them all to the agent. Remote tests
        attached but absent locally are deleted only with ``delete_remote``, and never while a local
        test file cannot be read (it may be the very test that would be deleted)."""
        from ..api.models import AgentUpdate

        c = await self.s.client()
        ws = self.s.workspace
        local = ws.tests(agent_id)
        if delete_remote:
            d = ws.agent_dir(agent_id) / "tests"
            unreadable = sorted({p.name for p in d.glob("*.toml")} - {t.path.name for t in local}) if d.is_dir() else []
            if unreadable:
                raise UsageError("not deleting anything remotely: these test files cannot be read, and one of "
                                 f"them may be a test --delete-remote would delete: {', '.join(unreadable)}. "
                                 "Fix or remove them first (nothing was changed).")
        res = TestsPushResult()
        agent = await c.get_agent(agent_id)
        attached = list(agent.attached_test_ids)
        local_ids = set()
        for t in local:
            if t.sync.remote_id is None:
                made = await c.create_test(t.body)
                ws.save_test(agent_id, t.body, remote_id=made.id, synced=True, path=t.path)
                res.created.append(t.path.name)
                local_ids.add(made.id)
                if made.id not in attached:
                    attached.append(made.id)
            else:
                local_ids.add(t.sync.remote_id)
                if t.changed_since_sync:
                    await c.update_test(t.sync.remote_id, t.body)
                    ws.save_test(agent_id, t.body, remote_id=t.sync.remote_id, synced=True, path=t.path)
                    res.updated.append(t.path.name)
                else:
                    res.unchanged.append(t.path.name)
                if t.sync.remote_id not in attached:
                    attached.append(t.sync.remote_id)
        if delete_remote:
            for tid in [x for x in attached if x not in local_ids]:
                await c.delete_test(tid)
                attached.remove(tid)
                res.deleted.append(tid)
        if attached != agent.attached_test_ids:
            await c.update_agent(agent_id, AgentUpdate(platform_settings={"testing": {
                "attached_tests": [{"test_id": x} for x in attached]}}))
        return res
