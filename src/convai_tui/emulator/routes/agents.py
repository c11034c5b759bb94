"""Agents: list, get (tip, a branch's tip or any version), patch (commits a version on a branch),
and version metadata."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Query

from ..agents import deep_merge, prune_none
from ..errors import invalid
from .bodies import AgentPatch
from .deps import State, agent_or_404, branch_or_404, page, version_or_404

router = APIRouter(prefix="/v1/convai/agents", tags=["agents"])


@router.get("")
async def list_agents(st: State, page_size: int = Query(30, ge=1, le=100), search: str | None = None,
                      archived: bool | None = False, show_only_owned_agents: bool | None = None,
                      created_by_user_id: str | None = None, tags: list[str] | None = Query(None),
                      sort_direction: Literal["asc", "desc"] = "desc",
                      sort_by: Literal["name", "created_at", "call_count_7d"] | None = None,
                      cursor: str | None = None) -> Any:
    recs = list(st.agents.values())
    if search:
        recs = [r for r in recs if search.lower() in r.name.lower()]
    if archived is not None:
        recs = [r for r in recs if r.archived == archived]
    if tags:
        recs = [r for r in recs if set(tags) & set(r.tags)]
    if created_by_user_id not in (None, "@me"):
        recs = []  # every demo agent is the caller's own
    if sort_by is None:
        recs.sort(key=lambda r: r.name.lower())  # the document names no default order: by name
    else:
        def key(r: Any) -> Any:
            if sort_by == "name":
                return r.name.lower()
            if sort_by == "created_at":
                return r.created
            newest = st.by_agent.get(r.agent_id, [])
            since = (newest[0].start if newest else 0) - 7 * 86400
            return sum(1 for c in newest if c.start >= since)
        recs.sort(key=key, reverse=sort_direction == "desc")
    chunk, nxt = page(recs, cursor, page_size)
    return {"agents": [r.summary() for r in chunk], "has_more": nxt is not None, "next_cursor": nxt}


@router.get("/{agent_id}")
async def get_agent(st: State, agent_id: str, version_id: str | None = None, branch_id: str | None = None) -> Any:
    rec = agent_or_404(st, agent_id)
    if version_id:
        v = version_or_404(rec, version_id)
        if branch_id and v.branch_id != branch_id:
            branch_or_404(rec, branch_id)
            raise invalid(["query", "version_id"], f"Version {version_id} is not on branch {branch_id}.")
        return rec.to_json(version_id=v.id)
    return rec.to_json(branch_or_404(rec, branch_id).id)


@router.patch("/{agent_id}")
async def update_agent(st: State, agent_id: str, body: AgentPatch | None = None, branch_id: str | None = None,
                       enable_versioning_if_not_enabled: bool | None = None) -> Any:
    rec = agent_or_404(st, agent_id)
    body = body or AgentPatch()
    with st.lock:
        br = branch_or_404(rec, branch_id)
        tip = br.tip
        cfg = deep_merge(tip.conversation_config, prune_none(body.conversation_config or {}))
        settings = deep_merge(tip.platform_settings, prune_none(body.platform_settings or {}))
        st.check_config(cfg, settings, ["body"])
        if body.name:
            rec.name = body.name
        if body.tags is not None:
            rec.tags = list(body.tags)
        if cfg != tip.conversation_config or settings != tip.platform_settings:
            rec.index(br.commit(cfg, settings, body.version_description or ""))
        rec.updated = int(time.time())
        return rec.to_json(br.id)


@router.get("/{agent_id}/versions/{version_id}")
async def get_version(st: State, agent_id: str, version_id: str) -> Any:
    return version_or_404(agent_or_404(st, agent_id), version_id).metadata()
