"""run-tests and the run history: test-invocations list, get, resubmit (and the SDK-only cancel)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..agents import AgentRecord, deep_merge, prune_none
from ..errors import invalid
from ..runs import Invocation, Target, make_runs
from .bodies import ConfigOverride, Resubmit, RunTests
from .deps import State, agent_or_404, branch_or_404, invocation_or_404, page

router = APIRouter(tags=["test-invocations"])


def _target(st: Any, rec: AgentRecord, branch_id: str | None, override: ConfigOverride | None) -> Target:
    version = branch_or_404(rec, branch_id).tip
    if override is None:
        return Target(rec, version)
    ov = {"conversation_config": prune_none(override.conversation_config),
          "platform_settings": prune_none(override.platform_settings)}
    st.check_config(deep_merge(version.conversation_config, ov["conversation_config"]),
                    deep_merge(version.platform_settings, ov["platform_settings"]), ["body", "agent_config_override"])
    return Target(rec, version, ov)


@router.post("/v1/convai/agents/{agent_id}/run-tests")
async def run_tests(st: State, agent_id: str, body: RunTests) -> Any:
    rec = agent_or_404(st, agent_id)
    ids = [t.test_id for t in body.tests]
    for i, tid in enumerate(ids):
        if tid not in st.tests:
            raise invalid(["body", "tests", i, "test_id"], f"Unknown test id {tid!r}.")
    target = _target(st, rec, body.branch_id, body.agent_config_override)
    names = [st.tests[i]["name"] for i in dict.fromkeys(ids)]
    inv = Invocation(f"inv_{uuid.uuid4().hex[:20]}", agent_id, target, int(time.time()), body.repeat_count,
                     list(dict.fromkeys(ids)), names[0] if len(names) == 1 else f"{len(names)} tests", name=body.name)
    make_runs(inv, st.tests, st.evaluator, delay_s=st.config.test_delay_ms / 1000)
    with st.lock:
        st.invocations[inv.id] = inv
    return JSONResponse(inv.to_json())


@router.get("/v1/convai/test-invocations")
async def list_invocations(st: State, agent_id: str | None = None, page_size: int = Query(30, ge=1, le=100),
                           search: str | None = None, cursor: str | None = None) -> Any:
    invs = st.invocations_of(agent_id)
    if search:
        s = search.lower()
        invs = [i for i in invs if s in i.title.lower() or s in (i.name or "").lower()]
    chunk, nxt = page(invs, cursor, page_size)
    items = []
    for inv in chunk:
        item = inv.summary()
        c = inv.counts()
        item.update({"cancelled_count": c["cancelled"], "cancelled": inv.cancelled})  # SDK 2.78.0 fields
        items.append(item)
    return JSONResponse({"results": items, "next_cursor": nxt, "has_more": nxt is not None,
                         "meta": {"page_size": page_size}})


@router.get("/v1/convai/test-invocations/{test_invocation_id}")
async def get_invocation(st: State, test_invocation_id: str) -> Any:
    return JSONResponse(invocation_or_404(st, test_invocation_id).to_json())


@router.post("/v1/convai/test-invocations/{test_invocation_id}/resubmit")
async def resubmit(st: State, test_invocation_id: str, body: Resubmit) -> Any:
    inv = invocation_or_404(st, test_invocation_id)
    rec = agent_or_404(st, body.agent_id)
    if rec.agent_id != inv.agent_id:
        raise invalid(["body", "agent_id"], f"The invocation ran on {inv.agent_id}, not {rec.agent_id}.")
    target = _target(st, rec, body.branch_id, body.agent_config_override)
    with st.lock:
        inv.settle()
        runs = {r.test_run_id: r for r in inv.runs}
        unknown = [i for i in body.test_run_ids if i not in runs]
        if unknown:
            raise invalid(["body", "test_run_ids"], f"Not runs of this invocation: {', '.join(unknown[:5])}.")
        base = time.monotonic() + st.config.test_delay_ms / 1000
        for n, rid in enumerate(dict.fromkeys(body.test_run_ids)):
            run = runs[rid]
            run.test = dict(st.tests.get(run.test_id, run.test))  # the test as it is now
            run.rerun(target, base + 0.01 * n)
        inv.cancelled = False
    return {}


@router.post("/v1/convai/test-invocations/{test_invocation_id}/cancel")
async def cancel_invocation(st: State, test_invocation_id: str) -> Any:
    """Not in the published document; SDK 2.78.0 has it (``tests.invocations.cancel``)."""
    inv = invocation_or_404(st, test_invocation_id)
    with st.lock:
        inv.settle()  # runs already due keep their verdicts
        inv.cancelled = True
        for r in inv.runs:
            if r.status == "pending":
                r.status = "cancelled"
                r.updated_at = int(time.time())
    return {}


