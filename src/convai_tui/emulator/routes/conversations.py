"""Conversations: list (cursor + every filter of the published API), get, delete, feedback,
message text search, and re-running a past call's analysis."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..brain import analyse, h
from ..errors import invalid
from ..history import BadFilter, ConvFilter, conv_analysis
from ..state import BadCursor, decode_cursor, encode_cursor
from .bodies import Feedback, RunEvaluation
from .deps import State, agent_or_404, conv_or_404

router = APIRouter(prefix="/v1/convai/conversations", tags=["conversations"])

Status = Literal["initiated", "in-progress", "processing", "done", "failed"]


class ConvQuery(BaseModel):
    """The filters of GET conversations (and text-search), validated as one model from the query
    string: one schema instead of ~40 FastAPI parameters (each built on first use: ~0.1 s)."""

    model_config = ConfigDict(extra="ignore")

    agent_id: str | None = None
    visited_agent_ids: list[str] | None = Field(None, max_length=50)
    visited_agent_branch_ids: list[str] | None = Field(None, max_length=50)
    triggered_procedure_ids: list[str] | None = Field(None, max_length=50)
    call_successful: Literal["success", "failure", "unknown", "error"] | None = None
    call_start_before_unix: int | None = None
    call_start_after_unix: int | None = None
    call_duration_min_secs: int | None = None
    call_duration_max_secs: int | None = None
    rating_max: int | None = Field(None, ge=1, le=5)
    rating_min: int | None = Field(None, ge=1, le=5)
    has_feedback_comment: bool | None = None
    user_id: str | None = None
    evaluation_params: list[str] | None = None
    data_collection_params: list[str] | None = None
    dynamic_variable_params: list[str] | None = None
    tool_names: list[str] | None = None
    tool_names_successful: list[str] | None = None
    tool_names_errored: list[str] | None = None
    include_invalid_tool_calls: bool = False
    main_languages: list[str] | None = None
    search: str | None = None
    conversation_initiation_source: str | None = None
    text_only: bool | None = None
    conversation_product_type: Literal["agents", "speech_engine"] | None = None
    branch_id: str | None = None
    version_id: str | None = None
    parent_conversation_id: str | None = None
    topic_ids: list[str] | None = None
    exclude_statuses: list[Status] | None = None
    tag_ids: list[str] | None = None
    workflow_node_entered_id: str | None = None
    termination_reasons: list[str] | None = None
    guardrail_types: list[str] | None = None
    custom_guardrail_names: list[str] | None = None


_LISTS = {name for name, f in ConvQuery.model_fields.items() if "list" in str(f.annotation)}


def conv_filter(request: Request) -> ConvFilter:
    qp = request.query_params
    data: dict[str, Any] = {}
    for name in ConvQuery.model_fields:
        if name in _LISTS:
            if name in qp:
                data[name] = qp.getlist(name)
        elif name in qp:
            data[name] = qp.getlist(name)[-1]
    try:
        q = ConvQuery.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None
    return ConvFilter(**q.model_dump(exclude={"include_invalid_tool_calls"}))


Filters = Annotated[ConvFilter, Depends(conv_filter)]


def _compile(f: ConvFilter) -> Any:
    try:
        return f.compile()
    except BadFilter as exc:
        raise invalid(["query", exc.param], str(exc)) from None


def _key_cursor(cursor: str | None) -> tuple[int, str] | None:
    if cursor is None:
        return None
    try:
        v = decode_cursor(cursor)
    except BadCursor:
        v = None
    if not (isinstance(v, list) and len(v) == 2 and type(v[0]) is int and isinstance(v[1], str)):
        raise invalid(["query", "cursor"], "Invalid cursor: pass the next_cursor of a previous page.")
    return v[0], v[1]


@router.get("")
async def list_conversations(st: State, f: Filters, cursor: str | None = None,
                             page_size: int = Query(30, ge=1, le=100),
                             summary_mode: Literal["exclude", "include"] = "exclude",
                             data_collection_ids: list[str] | None = Query(None),
                             evaluation_criteria_ids: list[str] | None = Query(None),
                             sort_direction: Literal["asc", "desc"] = "desc") -> Any:
    if f.agent_id:
        agent_or_404(st, f.agent_id)
    after = _key_cursor(cursor)
    convs, nxt = st.history.list(agent_id=f.agent_id, after=after, page_size=page_size, match=_compile(f),
                                 ascending=sort_direction == "asc", start_before=f.call_start_before_unix,
                                 start_after=f.call_start_after_unix)
    items = [st.history.summary(c, with_summary=summary_mode == "include", eval_ids=evaluation_criteria_ids or (),
                                data_ids=data_collection_ids or ()) for c in convs]
    return JSONResponse({"conversations": items, "next_cursor": encode_cursor(list(nxt)) if nxt else None,
                         "has_more": nxt is not None})


@router.get("/messages/text-search")
async def text_search(st: State, f: Filters, text_query: str = Query(...), cursor: str | None = None,
                      page_size: int = Query(30, ge=1, le=100),
                      summary_mode: Literal["exclude", "include"] = "exclude",
                      sort_by: Literal["search_score", "created_at"] | None = None) -> Any:
    if f.agent_id:
        agent_or_404(st, f.agent_id)
    pos = (0, 0)
    if cursor is not None:
        try:
            v = decode_cursor(cursor)
        except BadCursor:
            v = None
        if not (isinstance(v, list) and len(v) == 2 and all(type(x) is int and x >= 0 for x in v)):
            raise invalid(["query", "cursor"], "Invalid cursor: pass the next_cursor of a previous page.")
        pos = (v[0], v[1])
    res, nxt = st.history.search_messages(text=text_query, agent_id=f.agent_id, pos=pos, page_size=page_size,
                                          match=_compile(f))
    return JSONResponse({"results": res, "next_cursor": encode_cursor(list(nxt)) if nxt else None,
                         "has_more": nxt is not None, "meta": {"page_size": page_size}})


@router.get("/{conversation_id}")
async def get_conversation(st: State, conversation_id: str,
                           format: Literal["json", "opentelemetry"] = "json") -> Any:
    c = conv_or_404(st, conversation_id)
    out = st.history.detail(c)
    if format == "opentelemetry":
        out["otlp_traces"] = {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "convai-emulator"}}]},
            "scopeSpans": [{"scope": {"name": "convai"}, "spans": [{
                "traceId": f"{h(c.id) % 16**32:032x}", "name": "conversation",
                "startTimeUnixNano": str(c.start * 10**9),
                "endTimeUnixNano": str((c.start + c.duration) * 10**9)}]}]}]}
    return JSONResponse(out)


@router.delete("/{conversation_id}")
async def delete_conversation(st: State, conversation_id: str) -> Any:
    conv_or_404(st, conversation_id).deleted = True
    return {}


@router.post("/{conversation_id}/feedback")
async def feedback(st: State, conversation_id: str, body: Feedback) -> Any:
    conv_or_404(st, conversation_id).feedback = body.feedback
    return {}


def _rerun(st: Any, conversation_id: str) -> tuple[Any, dict[str, Any]]:
    """A finished call's analysis redone with the current config of the branch that served it."""
    c = conv_or_404(st, conversation_id)
    if c.status != "done":
        raise invalid(["path", "conversation_id"], f"The conversation is {c.status}: there is nothing to analyse yet.")
    rec = st.agents[c.agent_id]
    br = rec.branches.get(c.branch_id) or rec.main
    tr = st.history.transcript(c)
    fresh = analyse(br.tip.view(rec.name), tr, ended_naturally=not c.cut).to_wire()
    return c, fresh


@router.post("/{conversation_id}/analysis/run")
async def run_analysis(st: State, conversation_id: str) -> Any:
    c, fresh = _rerun(st, conversation_id)
    old = conv_analysis(c) or {}
    fresh["call_summary_title"] = old.get("call_summary_title", fresh.get("call_summary_title"))
    c.analysis_override = fresh
    return JSONResponse(st.history.detail(c))


@router.post("/{conversation_id}/analysis/evaluations/run")
async def run_evaluation(st: State, conversation_id: str, body: RunEvaluation) -> Any:
    c, fresh = _rerun(st, conversation_id)
    results = fresh.get("evaluation_criteria_results") or {}
    if body.evaluation_id not in results:
        raise invalid(["body", "evaluation_id"], f"The agent has no evaluation criterion {body.evaluation_id!r}.")
    an = copy.deepcopy(conv_analysis(c) or {})
    an.setdefault("evaluation_criteria_results", {})[body.evaluation_id] = results[body.evaluation_id]
    failed = any(r.get("result") == "failure" for r in an["evaluation_criteria_results"].values())
    an["call_successful"] = "failure" if failed else an.get("call_successful", "unknown")
    c.analysis_override = an
    return JSONResponse(st.history.detail(c))
