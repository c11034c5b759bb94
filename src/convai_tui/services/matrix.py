"""Versions side by side with evidence: the test x version matrix, filling its empty cells, results per
version in diffs, bisecting a test's first failing version.

Evidence is matched **by content**: a column is a prompt (a saved version, the draft, a branch's or
the remote's current prompt) identified by the content hash of its fields, and a cell gathers every
recorded run of that test whose prompt had that hash, whatever it was called when it ran (a run of the
remote whose prompt equals v3 is evidence for v3).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator

from ..workspace.versions import draft_hash
from .errors import UsageError
from .targets import RunTarget

if TYPE_CHECKING:
    from ..api.models import AgentTest
    from ..workspace.versions import PromptDraft
    from .runs import RunView
    from .session import Session

FILL_CONCURRENCY = 3
STATS_MAX_CALLS = 2000  # calls read per version (newest first) for its live evidence
STATS_CONCURRENCY = 4


@dataclass
class VersionEvidence:
    """How a remote version did on real calls: the conversations it served (``version_id``)."""

    version_id: str
    branch: str  # the branch's name
    description: str
    committed: int  # unix secs
    content_hash: str | None  # of its prompt fields: what links it to a saved version
    local: list[int] = field(default_factory=list)  # the saved versions with that prompt
    calls: int = 0
    capped: bool = False  # more calls than were read
    success: int = 0
    failure: int = 0
    criteria: dict[str, tuple[int, int]] = field(default_factory=dict)  # criterion -> (success, judged)

    @property
    def success_rate(self) -> float | None:
        judged = self.success + self.failure
        return self.success / judged if judged else None

    def to_json(self) -> dict[str, Any]:
        return {"version_id": self.version_id, "branch": self.branch, "description": self.description,
                "committed": self.committed, "content_hash": self.content_hash, "local_versions": self.local,
                "calls": self.calls, "capped": self.capped, "success": self.success, "failure": self.failure,
                "success_rate": None if self.success_rate is None else round(self.success_rate, 4),
                "criteria": {k: {"success": a, "judged": b, "rate": round(a / b, 4) if b else None}
                             for k, (a, b) in self.criteria.items()}}


@dataclass
class VersionStats:
    """A saved version beside its evidence: the real calls its prompt served and its recorded tests."""

    version: Any  # PromptVersion
    content_hash: str
    live: VersionEvidence | None
    tests_passed: int
    tests_total: int

    @property
    def tests_rate(self) -> float | None:
        return self.tests_passed / self.tests_total if self.tests_total else None

    def to_json(self) -> dict[str, Any]:
        v = self.version
        return {"number": v.number, "message": v.message, "content_hash": self.content_hash,
                "live": self.live.to_json() if self.live else None,
                "tests": {"passed": self.tests_passed, "runs": self.tests_total,
                          "rate": None if self.tests_rate is None else round(self.tests_rate, 4)}}


@dataclass
class MatrixColumn:
    key: str  # v3 | draft | remote | branch:NAME
    label: str
    target: RunTarget
    content_hash: str | None  # 8 hex digits; None: unknown (nothing can match)


@dataclass
class Cell:
    passed: int = 0
    total: int = 0  # passed + failed (cancelled/pending runs are not evidence)
    flaky: bool = False
    runs: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "runs": self.total, "rate": None if self.rate is None else round(self.rate, 4),
                "flaky": self.flaky, "run_ids": self.runs}


@dataclass
class MatrixRow:
    test_id: str
    name: str
    cells: dict[str, Cell]

    @property
    def disagreement(self) -> float:
        rates = [c.rate for c in self.cells.values() if c.rate is not None]
        return (max(rates) - min(rates)) if len(rates) > 1 else 0.0


@dataclass
class Matrix:
    agent_id: str
    columns: list[MatrixColumn]
    rows: list[MatrixRow]

    def column_rate(self, key: str) -> Cell:
        out = Cell()
        for r in self.rows:
            c = r.cells.get(key)
            if c:
                out.passed += c.passed
                out.total += c.total
                out.flaky = out.flaky or c.flaky
        return out

    def missing(self) -> dict[str, list[str]]:
        """Per column, the tests with no evidence yet."""
        return {col.key: [r.test_id for r in self.rows if not r.cells[col.key].total] for col in self.columns
                if any(not r.cells[col.key].total for r in self.rows)}

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id,
                "columns": [{"key": c.key, "label": c.label, "target": c.target.describe(),
                             "content_hash": c.content_hash, "overall": self.column_rate(c.key).to_json()}
                            for c in self.columns],
                "rows": [{"test_id": r.test_id, "name": r.name, "disagreement": round(r.disagreement, 4),
                          "cells": {k: c.to_json() for k, c in r.cells.items()}} for r in self.rows]}


@dataclass
class FillProgress:
    column: str
    done: int
    total: int
    finished: bool = False
    run_id: str | None = None
    error: str | None = None


@dataclass
class BisectStep:
    version: int
    passed: int
    total: int
    good: bool
    run_id: str | None  # None: judged from recorded runs, no new run needed


@dataclass
class BisectResult:
    test_id: str
    test_name: str
    good: int
    bad: int
    culprit: int  # the first failing version
    predecessor: int  # the last passing one before it
    steps: list[BisectStep]
    api_runs: int  # run-tests calls made

    def to_json(self) -> dict[str, Any]:
        return {"test_id": self.test_id, "test": self.test_name, "good": self.good, "bad": self.bad,
                "culprit": self.culprit, "predecessor": self.predecessor, "run_tests_calls": self.api_runs,
                "steps": [s.__dict__ for s in self.steps]}


def _version_number(spec: str) -> int | None:
    """``v3`` or ``3`` as 3; anything else None."""
    low = spec.strip().lower()
    num = low[1:] if low.startswith("v") else low
    return int(num) if num and num.isascii() and num.isdigit() else None


class MatrixService:
    def __init__(self, session: Session) -> None:
        self.s = session

    # ------------------------------------------------------------------ columns
    async def columns(self, agent_id: str, specs: list[str] | None = None) -> list[MatrixColumn]:
        """``v3``, ``draft``, ``remote`` (``main``), ``branch:NAME``; none: every saved version (newest
        eight), the draft if there is one, and the remote."""
        prompts = self.s.prompts
        if not specs:
            specs = [v.label for v in prompts.versions(agent_id)[-8:]]
            if prompts.has_draft(agent_id):
                specs.append("draft")
            specs.append("remote")
        out: list[MatrixColumn] = []
        seen: set[str] = set()
        # saved versions in one go: each version target read the whole versions folder (20 columns:
        # 420 files parsed, a second before the matrix showed)
        numbers = [n for n in (_version_number(x) for x in specs) if n is not None]
        by_number = dict(zip(numbers, await prompts.version_targets(agent_id, numbers))) if numbers else {}
        for spec in specs:
            n = _version_number(spec)
            if n is not None:
                t = by_number[n]
                col = MatrixColumn(f"v{n}", t.label, t, t.content_hash)
            else:
                col = await self._column(agent_id, spec.strip())
            if col.key not in seen:
                seen.add(col.key)
                out.append(col)
        return out

    async def _column(self, agent_id: str, spec: str) -> MatrixColumn:
        """A column that is not a saved version (those are made together in :meth:`columns`)."""
        prompts = self.s.prompts
        low = spec.lower()
        if low in ("remote", "main"):
            agent = await self.s.agents.get(agent_id)
            from ..workspace.versions import agent_draft

            h = draft_hash(agent_draft(agent))[:8]
            return MatrixColumn("remote", f"remote main · {h}", RunTarget.remote(), h)
        if low.startswith("branch:"):
            b = await self.s.agents.resolve_branch(agent_id, spec.split(":", 1)[1])
            from ..workspace.versions import agent_draft

            agent = await self.s.agents.get(agent_id, branch_id=b.id)
            h = draft_hash(agent_draft(agent))[:8]
            return MatrixColumn(f"branch:{b.name}", f"branch {b.name} · {h}", RunTarget.for_branch(b.id, b.name), h)
        if low == "draft":
            t = await prompts.target(agent_id, draft=True)
            return MatrixColumn("draft", t.label, t, t.content_hash)
        raise UsageError(f"unknown target {spec!r}: use v3, draft, remote or branch:NAME")

    # ------------------------------------------------------------------ evidence
    def evidence(self, agent_id: str, hashes: set[str] | None = None) -> dict[str, dict[str, Cell]]:
        """content hash -> test id -> what the recorded runs of that prompt say (``hashes``: only the runs
        of these prompts are read whole)."""
        runs = self.s.runs
        out: dict[str, dict[str, Cell]] = {}
        for v in runs.list(agent_id):
            h = v.header
            if h.kind != "test":
                continue
            ch = h.target.get("content_hash")
            if not ch or (hashes is not None and str(ch) not in hashes):
                continue
            full = runs.full(v)
            tests = out.setdefault(str(ch), {})
            for o in full.outcomes or []:
                c = tests.setdefault(o.test_id, Cell())
                final = o.final
                passed = final.count("P")
                c.passed += passed
                c.total += passed + final.count("F")
                c.flaky = c.flaky or o.flaky or (c.passed not in (0, c.total))
                c.runs.append(h.id)
        return out

    def build(self, agent_id: str, columns: list[MatrixColumn], tests: list[AgentTest]) -> Matrix:
        ev = self.evidence(agent_id, {c.content_hash for c in columns if c.content_hash})
        names = {t.id: t.name for t in tests}
        ids = [t.id for t in tests]
        for col in columns:  # tests seen in recorded runs of these prompts, even if detached since
            for tid in ev.get(col.content_hash or "", {}):
                if tid not in names:
                    ids.append(tid)
                    names[tid] = tid
        rows = []
        for tid in ids:
            cells = {}
            for col in columns:
                src = ev.get(col.content_hash or "", {}).get(tid)
                cells[col.key] = Cell(src.passed, src.total, src.flaky, list(src.runs)) if src else Cell()
            rows.append(MatrixRow(tid, names.get(tid, tid), cells))
        rows.sort(key=lambda r: (-r.disagreement, r.name.lower()))
        return Matrix(agent_id, columns, rows)

    async def matrix(self, agent_id: str, specs: list[str] | None = None) -> tuple[Matrix, list[AgentTest]]:
        agent = await self.s.agents.get(agent_id)
        ts = await self.s.tests.for_agent(agent)
        cols = await self.columns(agent_id, specs)
        return self.build(agent_id, cols, ts.tests), ts.tests

    # ------------------------------------------------------------------ filling empty cells
    async def fill(self, m: Matrix, tests: list[AgentTest], *, repeat: int = 1,
                   concurrency: int = FILL_CONCURRENCY) -> AsyncIterator[FillProgress]:
        """Run only the missing cells: one run-tests call per distinct prompt that has any (columns with the
        same content, say v2 and the draft, share one), its missing tests, the prompt as override; at most
        ``concurrency`` at a time; every run is recorded."""
        missing: dict[str, list[str]] = {}
        done_hashes: set[str] = set()
        for key, ids in m.missing().items():
            col = next(c for c in m.columns if c.key == key)
            if col.content_hash and col.content_hash in done_hashes:
                continue
            if col.content_hash:
                done_hashes.add(col.content_hash)
            missing[key] = ids
        by_id = {t.id: t for t in tests}
        queue: asyncio.Queue[FillProgress] = asyncio.Queue()
        sem = asyncio.Semaphore(max(1, concurrency))
        cols = {c.key: c for c in m.columns}

        async def one(key: str, test_ids: list[str]) -> None:
            col = cols[key]
            todo = [by_id[t] for t in test_ids if t in by_id]
            if not todo:
                await queue.put(FillProgress(key, 0, 0, True))
                return
            async with sem:
                total = len(todo) * repeat
                try:
                    prompt, version_id = await self.s.runs.prompt_of(m.agent_id, col.target)
                    started = time.time()
                    inv = None
                    async for inv in self.s.tests.run(m.agent_id, todo, col.target, repeat=repeat):
                        c = inv.counts()
                        await queue.put(FillProgress(key, total - c["pending"], total))
                    assert inv is not None
                    h = self.s.runs.record_test_run(m.agent_id, todo, inv, col.target, repeat=repeat, started=started,
                                                    prompt=prompt, version_id=version_id)
                    await queue.put(FillProgress(key, total, total, True, h.id))
                except Exception as exc:  # reported per column; the other columns go on
                    from ..api.errors import ConvAIError

                    if not isinstance(exc, (ConvAIError, UsageError)):
                        raise
                    await queue.put(FillProgress(key, 0, total, True, error=str(exc)))

        tasks = [asyncio.create_task(one(k, ids)) for k, ids in missing.items()]
        pending = len(tasks)
        try:
            while pending:
                p = await queue.get()
                if p.finished:
                    pending -= 1
                yield p
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    # ------------------------------------------------------------------ bisect
    async def bisect(self, agent_id: str, test_ref: str, *, good: int, bad: int, repeat: int = 5,
                     min_pass_rate: float = 0.8) -> AsyncIterator[BisectStep | BisectResult]:
        """Binary search over the saved versions from ``good`` to ``bad`` for the first one where the test
        fails. Each step is judged on ``repeat`` runs (recorded evidence of that prompt with at least that
        many runs is reused instead of running again), passing when its rate is at least
        ``min_pass_rate``: one flaky result does not mislead it. Yields each step, then the result."""
        if good >= bad:
            raise UsageError("--good must be an earlier version than --bad")
        prompts = self.s.prompts
        versions = [v for v in prompts.versions(agent_id) if good <= v.number <= bad]
        numbers = [v.number for v in versions]
        for n in (good, bad):
            if n not in numbers:
                prompts.version(agent_id, n)  # raises: no such version
        agent = await self.s.agents.get(agent_id)
        ts = await self.s.tests.for_agent(agent)
        test = _find_test(ts.tests, test_ref)
        by_number = {v.number: v for v in versions}
        api_runs = 0
        steps: list[BisectStep] = []

        async def judge(n: int) -> BisectStep:
            nonlocal api_runs
            v = by_number[n]
            h = draft_hash(v.draft)[:8]
            cell = self.evidence(agent_id, {h}).get(h, {}).get(test.id)
            run_id = None
            if cell is None or cell.total < repeat:
                target = await prompts.target(agent_id, version=n)
                started = time.time()
                inv = None
                async for inv in self.s.tests.run(agent_id, [test], target, repeat=repeat):
                    pass
                assert inv is not None
                api_runs += 1
                run_id = self.s.runs.record_test_run(agent_id, [test], inv, target, repeat=repeat,
                                                     started=started, prompt=target.draft).id
                cell = self.evidence(agent_id, {h}).get(h, {}).get(test.id) or Cell()
            ok = cell.total > 0 and cell.passed / cell.total >= min_pass_rate - 1e-9
            step = BisectStep(n, cell.passed, cell.total, ok, run_id)
            steps.append(step)
            return step

        first = await judge(good)
        yield first
        if not first.good:
            raise UsageError(f"v{good} is not good: {test.name} passes {first.passed}/{first.total} there")
        last = await judge(bad)
        yield last
        if last.good:
            raise UsageError(f"v{bad} is not bad: {test.name} passes {last.passed}/{last.total} there")
        lo, hi = 0, len(numbers) - 1  # numbers[lo] good, numbers[hi] bad
        while hi - lo > 1:
            mid = (lo + hi) // 2
            step = await judge(numbers[mid])
            yield step
            if step.good:
                lo = mid
            else:
                hi = mid
        yield BisectResult(test.id, test.name, good, bad, numbers[hi], numbers[lo], steps, api_runs)

    # ------------------------------------------------------------------ live calls per version
    async def version_evidence(self, agent_id: str, *, max_calls: int = STATS_MAX_CALLS) -> list[VersionEvidence]:
        """Each recent remote version of the agent (every live branch's ``most_recent_versions``) with the
        calls it served, read from ``GET conversations?version_id=`` (newest ``max_calls`` per version):
        call count, success rate and each evaluation criterion's rate; linked to the saved versions
        with the same prompt. Newest first."""
        from ..api.errors import ConvAIError, NotFoundError
        from ..workspace.versions import agent_draft

        c = await self.s.client()
        agent, branches = await self.s.agents.with_branches(agent_id)
        criteria = [str(x.get("id")) for x in agent.evaluation_criteria if x.get("id")]
        metas: dict[str, tuple[Any, str]] = {}
        for b in branches:
            if b.is_archived:
                continue
            try:
                full = await c.get_branch(agent_id, b.id)
            except NotFoundError:
                continue
            name = "main" if b.id == agent.main_branch_id else b.name
            for v in full.most_recent_versions or []:
                vid = v.id if hasattr(v, "id") else str(v.get("id"))
                metas.setdefault(vid, (v, name))
        local = {draft_hash(v.draft)[:8]: v.number for v in self.s.prompts.versions(agent_id)}
        local_all: dict[str, list[int]] = {}
        for v in self.s.prompts.versions(agent_id):
            local_all.setdefault(draft_hash(v.draft)[:8], []).append(v.number)
        del local
        sem = asyncio.Semaphore(STATS_CONCURRENCY)

        async def one(vid: str, meta: Any, branch: str) -> VersionEvidence:
            async with sem:
                try:
                    h = draft_hash(agent_draft(await c.get_agent(agent_id, version_id=vid)))[:8]
                except ConvAIError:
                    h = None
                ev = VersionEvidence(vid, branch, getattr(meta, "version_description", "") or "",
                                     int(getattr(meta, "time_committed_secs", 0) or 0), h,
                                     local_all.get(h or "", []))
                n = 0
                async for conv in c.iter_conversations(agent_id=agent_id, version_id=vid, page_size=100,
                                                       evaluation_criteria_ids=criteria or None):
                    if n >= max_calls:
                        ev.capped = True
                        break
                    n += 1
                    if conv.call_successful == "success":
                        ev.success += 1
                    elif conv.call_successful == "failure":
                        ev.failure += 1
                    for cid, r in (conv.evaluation_criteria_results or {}).items():
                        result = r.get("result") if isinstance(r, dict) else getattr(r, "result", None)
                        if result in ("success", "failure"):
                            a, t = ev.criteria.get(cid, (0, 0))
                            ev.criteria[cid] = (a + (result == "success"), t + 1)
                ev.calls = n
                return ev

        out = await asyncio.gather(*(one(vid, m, b) for vid, (m, b) in metas.items()))
        return sorted(out, key=lambda e: e.committed, reverse=True)

    async def version_stats(self, agent_id: str) -> tuple[list[VersionStats], list[VersionEvidence]]:
        """Each saved version (oldest first) with the live calls its prompt served and its recorded test
        results; then the remote versions that served calls but whose prompt is not saved here."""
        versions = self.s.prompts.versions(agent_id)
        evidence = await self.version_evidence(agent_id)
        tests = self.evidence(agent_id)
        rows = []
        for v in versions:
            h = draft_hash(v.draft)[:8]
            cells = tests.get(h, {})
            rows.append(VersionStats(v, h, self.live_for(evidence, h), sum(c.passed for c in cells.values()),
                                     sum(c.total for c in cells.values())))
        seen = {r.content_hash for r in rows}
        return rows, [e for e in evidence if e.calls and e.content_hash not in seen]

    @staticmethod
    def live_for(evidence: list[VersionEvidence], content_hash: str | None) -> VersionEvidence | None:
        """The calls served by the remote versions with this prompt, added up (None: none served)."""
        match = [e for e in evidence if content_hash and e.content_hash == content_hash and e.calls]
        if not match:
            return None
        total = VersionEvidence(",".join(e.version_id for e in match), match[0].branch, "", match[0].committed,
                                content_hash, match[0].local)
        for e in match:
            total.calls += e.calls
            total.capped = total.capped or e.capped
            total.success += e.success
            total.failure += e.failure
            for k, (a, t) in e.criteria.items():
                x, y = total.criteria.get(k, (0, 0))
                total.criteria[k] = (x + a, y + t)
        return total

    # ------------------------------------------------------------------ results of two prompts
    def results_for(self, agent_id: str, a: PromptDraft, b: PromptDraft) -> list[tuple[str, Cell, Cell, str]]:
        """For a diff of two prompts: per test with evidence for either, (name, A, B, what changed)."""
        ha, hb = draft_hash(a)[:8], draft_hash(b)[:8]
        ev = self.evidence(agent_id, {ha, hb})
        ea, eb = ev.get(ha, {}), ev.get(hb, {})
        names = self.names(agent_id)
        out = []
        for tid in list(ea) + [t for t in eb if t not in ea]:
            ca, cb = ea.get(tid, Cell()), eb.get(tid, Cell())
            out.append((names.get(tid, tid), ca, cb, _verdict(ca, cb)))
        order = {"now fails": 0, "now passes": 1, "changed": 2, "only A": 3, "only B": 4, "same": 5}
        out.sort(key=lambda r: (order.get(r[3], 9), r[0].lower()))
        return out

    def names(self, agent_id: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for v in self.s.runs.list(agent_id):
            if v.header.kind == "test":
                out.update({o.test_id: o.name for o in self.s.runs.full(v).outcomes or []})
        return out


def _verdict(a: Cell, b: Cell) -> str:
    if not a.total or not b.total:
        return "only A" if a.total else "only B"
    pa, pb = a.passed == a.total, b.passed == b.total
    if pa and not pb:
        return "now fails"
    if pb and not pa:
        return "now passes"
    return "same" if a.rate == b.rate else "changed"


def _find_test(tests: list[AgentTest], ref: str) -> AgentTest:
    exact = [t for t in tests if ref in (t.id, t.name)]
    if exact:
        return exact[0]
    low = ref.lower()
    partial = [t for t in tests if low in t.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise UsageError(f"no test {ref!r} (have: {', '.join(t.name for t in tests)})")
    raise UsageError(f"{ref!r} matches {len(partial)} tests: {', '.join(t.name for t in partial)}")
