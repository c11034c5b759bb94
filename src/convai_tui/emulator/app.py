"""The emulator's ASGI app: the ConvAI paths, JSON, stream framing and error shapes.

Request bodies are validated with the same pydantic models the client uses
(:mod:`convai_tui.api.models`), so a body the client builds is a body the emulator
accepts, and a bad body gets FastAPI's 422 ``{"detail": [{"loc", "msg", "type"}]}``,
which is the real API's shape.

Stream framing: ``simulate-conversation/stream`` answers ``application/x-ndjson``:
one JSON value per line; each line but the last is a JSON **array** of new turns
(usually one agent or user turn), the last line is one JSON **object**
``{"simulated_conversation": [...all turns...], "analysis": {...}}``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, AsyncIterator

from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..api.models import (
    AgentTestBody,
    AgentUpdate,
    BranchCreate,
    BranchMerge,
    ConversationFeedback,
    ResubmitRequest,
    RunTestsRequest,
    SimulationRequest,
)
from .brain import analyse
from .faults import Fault
from .state import EmulatorConfig, EmulatorState, decode_cursor, deep_merge, encode_cursor


class APIError(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def not_found(kind: str, ident: str) -> APIError:
    return APIError(404, {"status": f"{kind}_not_found", "message": f"{kind.replace('_', ' ').capitalize()} "
                                                                    f"'{ident}' was not found."})


def create_app(state: EmulatorState | None = None) -> FastAPI:
    st = state or EmulatorState()
    cfg: EmulatorConfig = st.config
    app = FastAPI(title="convai-tui emulator", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = st

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.middleware("http")
    async def _auth_latency_faults(request: Request, call_next: Any) -> Response:
        if cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000)
        path = request.url.path
        fault = None
        if path.startswith("/v1/"):
            header = request.headers.get("x-emulator-fault")
            if header:
                try:
                    fault = Fault.parse(header)
                except ValueError as exc:
                    return JSONResponse({"detail": [{"loc": ["header", "x-emulator-fault"], "msg": str(exc),
                                                     "type": "value_error"}]}, status_code=422)
            else:
                fault = st.faults.take(request.method, path)
        request.state.fault = fault
        if fault is not None:
            early = await _apply_fault(fault, stream=path.endswith("/stream"))
            if early is not None:
                return early
        if path.startswith("/v1/") and not cfg.open:
            key = request.headers.get("xi-api-key")
            if not key:
                return JSONResponse({"detail": {"status": "needs_authorization",
                                                "message": "Missing xi-api-key header."}}, status_code=401)
            if key != cfg.api_key:
                return JSONResponse({"detail": {"status": "invalid_api_key",
                                                "message": "Invalid API key."}}, status_code=401)
        return await call_next(request)

    @app.get("/_emulator/faults")
    async def list_faults() -> Any:
        return {"faults": st.faults.list(), "fired": st.faults.fired, "seen": st.faults.seen}

    @app.post("/_emulator/faults")
    async def add_fault(body: dict[str, Any] = Body(...)) -> Any:
        try:
            st.faults.add(Fault.from_dict(body))
        except (ValueError, TypeError) as exc:
            raise APIError(422, [{"loc": ["body"], "msg": str(exc), "type": "value_error"}])
        return {"faults": st.faults.list()}

    @app.delete("/_emulator/faults")
    async def clear_faults() -> Any:
        st.faults.clear()
        return {"faults": []}

    def agent_or_404(agent_id: str) -> Any:
        rec = st.agents.get(agent_id)
        if rec is None:
            raise not_found("agent", agent_id)
        return rec

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "agents": len(st.agents), "conversations": len(st.convs)}

    # ------------------------------------------------------------------ agents
    @app.get("/v1/convai/agents")
    async def list_agents(page_size: int = Query(30, ge=1, le=100), search: str | None = None,
                          cursor: str | None = None) -> dict[str, Any]:
        recs = sorted(st.agents.values(), key=lambda r: r.name.lower())
        if search:
            recs = [r for r in recs if search.lower() in r.name.lower()]
        start = int(decode_cursor(cursor)) if cursor else 0
        page = recs[start:start + page_size]
        more = start + page_size < len(recs)
        return {"agents": [r.summary() for r in page], "has_more": more,
                "next_cursor": encode_cursor(start + page_size) if more else None}

    @app.get("/v1/convai/agents/{agent_id}")
    async def get_agent(agent_id: str, branch_id: str | None = None, version_id: str | None = None) -> Any:
        rec = agent_or_404(agent_id)
        if branch_id and branch_id not in rec.branches:
            raise not_found("branch", branch_id)
        if version_id and rec.config(version_id=version_id) is None:
            raise not_found("version", version_id)
        return rec.to_json(branch_id, version_id)

    @app.patch("/v1/convai/agents/{agent_id}")
    async def update_agent(agent_id: str, body: AgentUpdate, branch_id: str | None = None) -> Any:
        rec = agent_or_404(agent_id)
        with st.lock:
            br = rec.branch(branch_id)
            if br is None:
                raise not_found("branch", branch_id or "")
            patch = body.to_wire()
            if "name" in patch and patch["name"]:
                rec.name = patch["name"]
            if "tags" in patch and patch["tags"] is not None:
                rec.tags = list(patch["tags"])
            if patch.get("platform_settings"):
                rec.platform_settings = deep_merge(rec.platform_settings, patch["platform_settings"])
            if patch.get("conversation_config"):
                cfg_new = deep_merge(br.tip["config"], patch["conversation_config"])
                if cfg_new != br.tip["config"]:
                    br.commit(cfg_new, patch.get("version_description") or "")
            rec.updated = int(time.time())
            return rec.to_json(br.id)

    @app.get("/v1/convai/agents/{agent_id}/versions/{version_id}")
    async def get_version(agent_id: str, version_id: str) -> Any:
        rec = agent_or_404(agent_id)
        for br in rec.branches.values():
            for v in br.versions:
                if v["version_id"] == version_id:
                    return {"id": v["version_id"], "agent_id": agent_id, "branch_id": br.id,
                            "created_at": v["created_at"], "description": v["description"],
                            "conversation_config": v["config"]}
        raise not_found("version", version_id)

    # ------------------------------------------------------------------ branches
    @app.get("/v1/convai/agents/{agent_id}/branches")
    async def list_branches(agent_id: str, include_archived: bool = False,
                            limit: int = Query(100, ge=1, le=100)) -> Any:
        rec = agent_or_404(agent_id)
        res = [b.summary(rec.main_branch_id) for b in rec.branches.values()
               if include_archived or not b.is_archived][:limit]
        return {"results": res, "meta": {"total": len(res), "page": 0, "page_size": limit}}

    @app.get("/v1/convai/agents/{agent_id}/branches/{branch_id}")
    async def get_branch(agent_id: str, branch_id: str) -> Any:
        rec = agent_or_404(agent_id)
        br = rec.branches.get(branch_id)
        if br is None:
            raise not_found("branch", branch_id)
        out = br.summary(rec.main_branch_id)
        out["most_recent_versions"] = [
            {"id": v["version_id"], "agent_id": agent_id, "branch_id": br.id, "created_at": v["created_at"],
             "description": v["description"], "seq_no_in_branch": i}
            for i, v in reversed(list(enumerate(br.versions)))][:10]
        return out

    @app.post("/v1/convai/agents/{agent_id}/branches")
    async def create_branch(agent_id: str, body: BranchCreate) -> Any:
        rec = agent_or_404(agent_id)
        with st.lock:
            parent_cfg = rec.config(version_id=body.parent_version_id)
            if parent_cfg is None:
                raise APIError(422, [{"loc": ["body", "parent_version_id"], "msg": "Unknown version id.",
                                      "type": "value_error"}])
            if any(b.name == body.name for b in rec.branches.values() if not b.is_archived):
                raise APIError(409, {"status": "branch_exists", "message": f"Branch '{body.name}' already exists."})
            parent = next(b for b in rec.branches.values()
                          if any(v["version_id"] == body.parent_version_id for v in b.versions))
            bid = f"agtbrch_{uuid.uuid4().hex[:20]}"
            from .state import Branch

            br = Branch(agent_id, bid, body.name, body.description, int(time.time()), parent.id)
            cfg_new = parent_cfg
            if body.conversation_config is not None:
                cfg_new = deep_merge(parent_cfg, body.conversation_config.to_wire())
            vid = br.commit(cfg_new, body.description or f"Branched from {parent.name}")
            rec.branches[bid] = br
            return {"created_branch_id": bid, "created_version_id": vid}

    @app.get("/v1/convai/agents/{agent_id}/branches/{branch_id}/merge-preview")
    async def merge_preview(agent_id: str, branch_id: str, target_branch_id: str) -> Any:
        rec = agent_or_404(agent_id)
        src, dst = rec.branches.get(branch_id), rec.branches.get(target_branch_id)
        if src is None or dst is None:
            raise not_found("branch", branch_id if src is None else target_branch_id)
        return {"source_branch_id": src.id, "target_branch_id": dst.id,
                "has_conflicts": False, "changes": src.tip["config"] != dst.tip["config"]}

    @app.post("/v1/convai/agents/{agent_id}/branches/{branch_id}/merge")
    async def merge_branch(agent_id: str, branch_id: str, target_branch_id: str,
                           body: BranchMerge | None = None) -> Any:
        rec = agent_or_404(agent_id)
        with st.lock:
            src, dst = rec.branches.get(branch_id), rec.branches.get(target_branch_id)
            if src is None or dst is None:
                raise not_found("branch", branch_id if src is None else target_branch_id)
            if src.id == dst.id:
                raise APIError(422, [{"loc": ["query", "target_branch_id"], "msg": "Cannot merge a branch into itself.",
                                      "type": "value_error"}])
            vid = dst.commit(src.tip["config"], f"Merged {src.name}")
            if body and body.archive_source_branch:
                src.is_archived = True
            return {"merged_version_id": vid, "target_branch_id": dst.id}

    # ------------------------------------------------------------------ simulation
    def _simulate_setup(agent_id: str, body: SimulationRequest) -> Any:
        rec = agent_or_404(agent_id)
        spec = body.simulation_specification.to_wire()
        extra = [c.to_wire() for c in body.extra_evaluation_criteria or []]
        return rec, st.run_simulation(rec, spec, extra, body.new_turns_limit), extra

    if cfg.legacy_simulate:
        @app.post("/v1/convai/agents/{agent_id}/simulate-conversation")
        async def simulate(agent_id: str, body: SimulationRequest) -> Any:
            rec, sim, extra = _simulate_setup(agent_id, body)
            turns = list(sim.turns())
            an = analyse(sim.agent, turns, extra_criteria=extra, ended_naturally=sim.ended_naturally,
                         tool_errors=sim.tool_errors)
            return JSONResponse({"simulated_conversation": [t.to_wire() for t in turns], "analysis": an.to_wire()})

        @app.post("/v1/convai/agents/{agent_id}/simulate-conversation/stream")
        async def simulate_stream(agent_id: str, body: SimulationRequest, request: Request) -> Any:
            rec, sim, extra = _simulate_setup(agent_id, body)
            delay = cfg.stream_delay_ms / 1000

            fault = getattr(request.state, "fault", None)
            cut_at = fault.after_events if fault is not None and fault.kind in ("cut", "malformed") else None

            async def gen() -> AsyncIterator[bytes]:
                lines = 0
                async for line in _gen():
                    if cut_at is not None and lines >= cut_at:
                        if fault.kind == "malformed":
                            yield b'[{"role": "agent", "message": "trunc'
                            yield b'}}]\n'
                        raise ConnectionAbortedError("emulator fault: stream cut")
                    lines += 1
                    yield line

            async def _gen() -> AsyncIterator[bytes]:
                turns = []
                batch: list[dict[str, Any]] = []
                last_flush = time.monotonic()
                for t in sim.turns():
                    turns.append(t)
                    if delay:
                        await asyncio.sleep(delay)
                        yield (json.dumps([t.to_wire()], ensure_ascii=False) + "\n").encode()
                    else:
                        # no delay: batch turns (still in several chunks) and let the loop breathe
                        batch.append(t.to_wire())
                        if len(batch) >= 50 or time.monotonic() - last_flush > 0.02:
                            yield (json.dumps(batch, ensure_ascii=False) + "\n").encode()
                            batch = []
                            last_flush = time.monotonic()
                            await asyncio.sleep(0)
                if batch:
                    yield (json.dumps(batch, ensure_ascii=False) + "\n").encode()
                an = analyse(sim.agent, turns, extra_criteria=extra, ended_naturally=sim.ended_naturally,
                             tool_errors=sim.tool_errors)
                final = {"simulated_conversation": [t.to_wire() for t in turns], "analysis": an.to_wire()}
                yield (json.dumps(final, ensure_ascii=False) + "\n").encode()

            return StreamingResponse(gen(), media_type="application/x-ndjson")
    else:
        @app.post("/v1/convai/agents/{agent_id}/simulate-conversation")
        @app.post("/v1/convai/agents/{agent_id}/simulate-conversation/stream")
        async def simulate_gone(agent_id: str) -> Any:
            raise APIError(410, {"status": "endpoint_removed",
                                 "message": "simulate-conversation was removed; use agent-testing simulation "
                                            "tests with run-tests."})

    # ------------------------------------------------------------------ conversations
    @app.get("/v1/convai/conversations")
    async def list_conversations(
        request: Request,
        cursor: str | None = None,
        page_size: int = Query(30, ge=1, le=100),
        agent_id: str | None = None,
        call_successful: str | None = None,
        call_start_before_unix: int | None = None,
        call_start_after_unix: int | None = None,
        call_duration_min_secs: int | None = None,
        call_duration_max_secs: int | None = None,
        rating_min: int | None = Query(None, ge=1, le=5),
        rating_max: int | None = Query(None, ge=1, le=5),
        search: str | None = None,
        feedback: str | None = None,
    ) -> Any:
        if agent_id and agent_id not in st.agents:
            raise not_found("agent", agent_id)
        filters = {k: v for k, v in {
            "call_successful": call_successful, "call_start_before_unix": call_start_before_unix,
            "call_start_after_unix": call_start_after_unix, "call_duration_min_secs": call_duration_min_secs,
            "call_duration_max_secs": call_duration_max_secs, "rating_min": rating_min, "rating_max": rating_max,
            "search": search, "feedback": feedback,
            "main_languages": request.query_params.getlist("main_languages") or None,
            "tool_names": request.query_params.getlist("tool_names") or None,
        }.items() if v is not None}
        try:
            convs, nxt = st.list_conversations(agent_id=agent_id, cursor=cursor, page_size=page_size,
                                               filters=filters)
        except (ValueError, TypeError, IndexError):
            raise APIError(422, [{"loc": ["query", "cursor"], "msg": "Invalid cursor.", "type": "value_error"}])
        return JSONResponse({"conversations": [st.conv_summary(c) for c in convs], "next_cursor": nxt,
                             "has_more": nxt is not None})

    @app.get("/v1/convai/conversations/messages/text-search")
    async def text_search(text_query: str = Query(..., min_length=1), agent_id: str | None = None,
                          cursor: str | None = None, page_size: int = Query(30, ge=1, le=100)) -> Any:
        try:
            res, nxt = st.search_messages(text=text_query, agent_id=agent_id, cursor=cursor, page_size=page_size)
        except (ValueError, TypeError):
            raise APIError(422, [{"loc": ["query", "cursor"], "msg": "Invalid cursor.", "type": "value_error"}])
        return JSONResponse({"results": res, "next_cursor": nxt, "has_more": nxt is not None,
                             "meta": {"page_size": page_size}})

    def conv_or_404(cid: str) -> Any:
        c = st.conv_by_id.get(cid)
        if c is None or c.deleted:
            raise not_found("conversation", cid)
        return c

    @app.get("/v1/convai/conversations/{conversation_id}")
    async def get_conversation(conversation_id: str) -> Any:
        return JSONResponse(st.conv_detail(conv_or_404(conversation_id)))

    @app.delete("/v1/convai/conversations/{conversation_id}")
    async def delete_conversation(conversation_id: str) -> Any:
        conv_or_404(conversation_id).deleted = True
        return {}

    @app.post("/v1/convai/conversations/{conversation_id}/feedback")
    async def feedback(conversation_id: str, body: ConversationFeedback) -> Any:
        if body.feedback not in (None, "like", "dislike"):
            raise APIError(422, [{"loc": ["body", "feedback"], "msg": "Input should be 'like' or 'dislike'",
                                  "type": "enum"}])
        conv_or_404(conversation_id).feedback = body.feedback
        return {}

    # ------------------------------------------------------------------ agent tests
    def test_or_404(test_id: str) -> dict[str, Any]:
        t = st.tests.get(test_id)
        if t is None:
            raise not_found("test", test_id)
        return t

    def _test_public(t: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in t.items() if k not in ("created_at_unix_secs", "last_updated_at_unix_secs")}

    @app.post("/v1/convai/agent-testing/create")
    async def create_test(body: AgentTestBody) -> Any:
        _check_test_body(body)
        tid = f"test_{uuid.uuid4().hex[:20]}"
        now = int(time.time())
        with st.lock:
            st.tests[tid] = {"id": tid, **body.to_wire(), "created_at_unix_secs": now,
                             "last_updated_at_unix_secs": now}
        return {"id": tid}

    @app.get("/v1/convai/agent-testing")
    async def list_tests(request: Request, cursor: str | None = None, page_size: int = Query(30, ge=1, le=100),
                         search: str | None = None) -> Any:
        types = request.query_params.getlist("types")
        items = sorted(st.tests.values(), key=lambda t: (t["created_at_unix_secs"], t["id"]))
        if search:
            items = [t for t in items if search.lower() in t["name"].lower()]
        if types:
            items = [t for t in items if t.get("type") in types]
        start = int(decode_cursor(cursor)) if cursor else 0
        page = items[start:start + page_size]
        more = start + page_size < len(items)
        return {"tests": [{"id": t["id"], "name": t["name"], "type": t.get("type", "llm"),
                           "created_at_unix_secs": t["created_at_unix_secs"],
                           "last_updated_at_unix_secs": t["last_updated_at_unix_secs"],
                           "access_info": {"is_creator": True, "creator_name": "Demo User",
                                           "creator_email": "demo@example.com", "role": "admin"},
                           "entity_type": "test"} for t in page],
                "has_more": more, "next_cursor": encode_cursor(start + page_size) if more else None}

    @app.post("/v1/convai/agent-testing/summaries")
    async def test_summaries(body: dict[str, Any] = Body(...)) -> Any:
        ids = body.get("test_ids") or []
        return {"tests": {i: {"id": i, "name": st.tests[i]["name"], "type": st.tests[i].get("type", "llm")}
                          for i in ids if i in st.tests}}

    @app.get("/v1/convai/agent-testing/{test_id}")
    async def get_test(test_id: str) -> Any:
        return _test_public(test_or_404(test_id))

    @app.put("/v1/convai/agent-testing/{test_id}")
    async def update_test(test_id: str, body: AgentTestBody) -> Any:
        old = test_or_404(test_id)
        _check_test_body(body)
        with st.lock:
            new = {"id": test_id, **body.to_wire(), "created_at_unix_secs": old["created_at_unix_secs"],
                   "last_updated_at_unix_secs": int(time.time())}
            st.tests[test_id] = new
        return _test_public(new)

    @app.delete("/v1/convai/agent-testing/{test_id}")
    async def delete_test(test_id: str) -> Any:
        test_or_404(test_id)
        with st.lock:
            del st.tests[test_id]
        return {}

    # ------------------------------------------------------------------ run-tests and invocations
    def _invocation_json(inv: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        runs = []
        for r in inv["runs"]:
            status = r["status"]
            if status == "pending" and now >= r["_ready_at"]:
                status = r["status"] = "passed" if r["_verdict"]["ok"] else "failed"
                r["last_updated_at_unix"] = int(time.time())
            run = {k: v for k, v in r.items() if not k.startswith("_")}
            if status in ("passed", "failed"):
                v = r["_verdict"]
                run["agent_responses"] = v["responses"]
                run["condition_result"] = {"result": "success" if v["ok"] else "failure",
                                           "rationale": {"messages": v["messages"], "summary": v["summary"]}}
            runs.append(run)
        groups = []
        for tid in inv["test_ids"]:
            trs = [r for r in runs if r["test_id"] == tid]
            buckets: dict[str, list[str]] = {}
            for r in trs:
                buckets.setdefault(r["status"], []).append(r["test_run_id"])
            groups.append({"test_id": tid, "test_name": trs[0]["test_name"] if trs else tid,
                           "buckets": [{"test_run_ids": ids, "title": s.capitalize(), "reason": f"{len(ids)} run(s) {s}",
                                        "status": s} for s, ids in buckets.items()]})
        pending = any(r["status"] == "pending" for r in runs)
        return {"id": inv["id"], "agent_id": inv["agent_id"], "branch_id": inv["branch_id"], "name": inv["name"],
                "created_at": inv["created_at"], "repeat_count": inv["repeat_count"], "cancelled": inv["cancelled"],
                "ran_against_draft": inv["ran_against_draft"],
                "bucketing_status": "pending" if pending else "completed",
                "result_groups": groups, "test_runs": runs}

    def _make_runs(inv: dict[str, Any], rec: Any, test_ids: list[str], repeat: int, branch_id: str | None,
                   override: dict[str, Any] | None) -> None:
        base = time.monotonic() + cfg.test_delay_ms / 1000
        for ti, tid in enumerate(test_ids):
            t = st.tests[tid]
            for rep in range(repeat):
                idx = len(inv["runs"])
                verdict = st.evaluate_test(rec, t, rep, branch_id, override)
                ttype = t.get("type", "llm")
                inv["runs"].append({
                    "test_run_id": f"run_{uuid.uuid4().hex[:20]}", "test_invocation_id": inv["id"],
                    "agent_id": rec.agent_id, "branch_id": branch_id or rec.main_branch_id,
                    "test_id": tid, "test_name": t["name"], "status": "pending", "repeat_index": rep,
                    "test_info": _test_public(t),
                    "metadata": {"workspace_id": "demo-workspace", "test_name": t["name"],
                                 "ran_by_user_email": "demo@example.com",
                                 "test_type": {"tool": "tool_call"}.get(ttype, ttype)},
                    "last_updated_at_unix": int(time.time()), "ran_against_draft": override is not None,
                    "_ready_at": base + (cfg.test_delay_ms / 1000) * 0.15 * (idx % 12) + 0.01 * idx,
                    "_verdict": verdict,
                })

    @app.post("/v1/convai/agents/{agent_id}/run-tests")
    async def run_tests(agent_id: str, body: RunTestsRequest) -> Any:
        rec = agent_or_404(agent_id)
        if body.branch_id and body.branch_id not in rec.branches:
            raise not_found("branch", body.branch_id)
        ids = [t.test_id for t in body.tests]
        for i, tid in enumerate(ids):
            if tid not in st.tests:
                raise APIError(422, [{"loc": ["body", "tests", i, "test_id"], "msg": f"Unknown test id '{tid}'.",
                                      "type": "value_error"}])
        override = None
        if body.agent_config_override and body.agent_config_override.conversation_config:
            override = body.agent_config_override.conversation_config.to_wire()
        repeat = body.repeat_count or 1
        inv_id = f"inv_{uuid.uuid4().hex[:20]}"
        inv = {"id": inv_id, "agent_id": agent_id, "branch_id": body.branch_id or rec.main_branch_id,
               "name": body.name or f"Run of {len(ids)} test(s)", "created_at": int(time.time()),
               "repeat_count": repeat, "cancelled": False, "ran_against_draft": override is not None,
               "test_ids": ids, "runs": [], "_override": override}
        _make_runs(inv, rec, ids, repeat, body.branch_id, override)
        with st.lock:
            st.invocations[inv_id] = inv
        return JSONResponse(_invocation_json(inv))

    def inv_or_404(inv_id: str) -> dict[str, Any]:
        inv = st.invocations.get(inv_id)
        if inv is None:
            raise not_found("test_invocation", inv_id)
        return inv

    @app.get("/v1/convai/test-invocations")
    async def list_invocations(agent_id: str | None = None, cursor: str | None = None,
                               page_size: int = Query(30, ge=1, le=100)) -> Any:
        invs = [i for i in reversed(list(st.invocations.values())) if not agent_id or i["agent_id"] == agent_id]
        start = int(decode_cursor(cursor)) if cursor else 0
        page = invs[start:start + page_size]
        out = []
        for inv in page:
            j = _invocation_json(inv)
            counts = {s: sum(1 for r in j["test_runs"] if r["status"] == s)
                      for s in ("passed", "failed", "pending", "cancelled")}
            out.append({"id": inv["id"], "title": inv["name"], "agent_id": inv["agent_id"],
                        "branch_id": inv["branch_id"], "created_at_unix_secs": inv["created_at"],
                        "test_run_count": len(j["test_runs"]), "passed_count": counts["passed"],
                        "failed_count": counts["failed"], "pending_count": counts["pending"],
                        "cancelled_count": counts["cancelled"], "repeat_count": inv["repeat_count"],
                        "cancelled": inv["cancelled"]})
        more = start + page_size < len(invs)
        return {"results": out, "has_more": more, "next_cursor": encode_cursor(start + page_size) if more else None}

    @app.get("/v1/convai/test-invocations/{invocation_id}")
    async def get_invocation(invocation_id: str) -> Any:
        return JSONResponse(_invocation_json(inv_or_404(invocation_id)))

    @app.post("/v1/convai/test-invocations/{invocation_id}/cancel")
    async def cancel_invocation(invocation_id: str) -> Any:
        inv = inv_or_404(invocation_id)
        _invocation_json(inv)  # settle runs that are already due
        with st.lock:
            inv["cancelled"] = True
            for r in inv["runs"]:
                if r["status"] == "pending":
                    r["status"] = "cancelled"
                    r["last_updated_at_unix"] = int(time.time())
        return {}

    @app.post("/v1/convai/test-invocations/{invocation_id}/resubmit")
    async def resubmit(invocation_id: str, body: ResubmitRequest) -> Any:
        inv = inv_or_404(invocation_id)
        rec = agent_or_404(body.agent_id)
        override = None
        if body.agent_config_override and body.agent_config_override.conversation_config:
            override = body.agent_config_override.conversation_config.to_wire()
        base = time.monotonic() + cfg.test_delay_ms / 1000
        with st.lock:
            found = 0
            for r in inv["runs"]:
                if r["test_run_id"] in body.test_run_ids:
                    found += 1
                    r["status"] = "pending"
                    r["_ready_at"] = base
                    r["_verdict"] = st.evaluate_test(rec, st.tests.get(r["test_id"], r["test_info"]),
                                                     r.get("repeat_index", 0), body.branch_id, override)
            if not found:
                raise APIError(422, [{"loc": ["body", "test_run_ids"], "msg": "No such test run in this invocation.",
                                      "type": "value_error"}])
            inv["cancelled"] = False
        return {}

    return app


def _check_test_body(body: AgentTestBody) -> None:
    t = body.type
    if t == "llm" and not body.success_condition:
        raise APIError(422, [{"loc": ["body", "success_condition"], "msg": "Field required for an llm test.",
                              "type": "missing"}])
    if t == "tool" and not (body.tool_call_parameters and body.tool_call_parameters.referenced_tool):
        raise APIError(422, [{"loc": ["body", "tool_call_parameters", "referenced_tool"],
                              "msg": "Field required for a tool test.", "type": "missing"}])
    if t == "simulation" and not body.simulation_scenario:
        raise APIError(422, [{"loc": ["body", "simulation_scenario"], "msg": "Field required for a simulation test.",
                              "type": "missing"}])
    if t not in ("llm", "tool", "simulation"):
        raise APIError(422, [{"loc": ["body", "type"], "msg": "Input should be 'llm', 'tool' or 'simulation'",
                              "type": "literal_error"}])


async def _apply_fault(f: Fault, stream: bool = False) -> Response | None:
    """Answer for a fault that replaces the response; None lets the request through."""
    if f.kind == "status":
        headers = {}
        if f.retry_after is not None:
            headers["retry-after"] = f"{f.retry_after:g}"
        detail: Any = {"status": "rate_limited" if f.status == 429 else "emulated_fault",
                       "message": f"Emulated HTTP {f.status}."}
        return JSONResponse({"detail": detail}, status_code=f.status, headers=headers)
    if f.kind == "delay":
        await asyncio.sleep(f.delay_ms / 1000)
        return None
    if f.kind == "hang":
        await asyncio.sleep(3600)
        return JSONResponse({"detail": "late"}, status_code=504)
    if f.kind == "reset":
        async def broken() -> AsyncIterator[bytes]:
            yield b'{"partial": '
            raise ConnectionResetError("emulator fault: connection reset")
        return StreamingResponse(broken(), media_type="application/json")
    if f.kind == "malformed" and not stream:
        # Non-stream requests get a truncated JSON body; streams handle it themselves.
        return Response(b'{"truncated": [1, 2', media_type="application/json")
    return None
