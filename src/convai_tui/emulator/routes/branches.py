"""Branches: list, create, get, update, merge preview, merge; deployments (traffic splits between
branches) and the caller's server-side drafts."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

from fastapi import APIRouter, Query

from ..agents import Branch, deep_merge, prune_none
from ..errors import conflict, invalid, not_found
from .bodies import BranchCreate, BranchMerge, BranchUpdate, Deployments, DraftCreate
from .deps import State, agent_or_404, branch_or_404

router = APIRouter(prefix="/v1/convai/agents/{agent_id}", tags=["branches"])


def _calls_7d(st: Any, agent_id: str) -> dict[str, int]:
    newest = st.by_agent.get(agent_id, [])
    if not newest:
        return {}
    return st.history.calls_since(agent_id, newest[0].start - 7 * 86400)


@router.get("/branches")
async def list_branches(st: State, agent_id: str, include_archived: bool = False,
                        limit: int = Query(100, gt=1, le=100), include_commit_status: bool = False) -> Any:
    rec = agent_or_404(st, agent_id)
    calls = _calls_7d(st, agent_id)
    res = [rec.branch_summary(b, commit_status=include_commit_status, calls_7d=calls.get(b.id, 0))
           for b in rec.branches.values() if include_archived or not b.is_archived]
    return {"results": res[:limit], "meta": {"total": len(res), "page": 0, "page_size": limit}}


@router.post("/branches")
async def create_branch(st: State, agent_id: str, body: BranchCreate) -> Any:
    rec = agent_or_404(st, agent_id)
    with st.lock:
        parent = rec.version(body.parent_version_id)
        if parent is None:
            raise invalid(["body", "parent_version_id"], f"Unknown version id {body.parent_version_id!r}.")
        if not body.name.strip():
            raise invalid(["body", "name"], "A branch needs a name.")
        if any(b.name == body.name for b in rec.branches.values() if not b.is_archived):
            raise conflict("branch_exists", f"Branch '{body.name}' already exists.")
        source = rec.branches[parent.branch_id]
        cfg, settings = parent.conversation_config, parent.platform_settings
        if body.include_draft:
            if parent.id != source.tip.id:
                raise invalid(["body", "include_draft"], "include_draft needs parent_version_id to be the branch tip.")
            if source.draft is not None:
                cfg = source.draft["conversation_config"]
                settings = source.draft["platform_settings"]
        cfg = deep_merge(cfg, prune_none(body.conversation_config or {}))
        settings = deep_merge(settings, prune_none(body.platform_settings or {}))
        st.check_config(cfg, settings, ["body"])
        now = int(time.time())
        br = Branch(agent_id, f"agtbrch_{uuid.uuid4().hex[:24]}", body.name, body.description, now, source.id)
        v = rec.index(br.commit(copy.deepcopy(cfg), copy.deepcopy(settings),
                                body.description or f"Branched from {source.name}", now,
                                out_of_branch_parent_id=parent.id))
        rec.branches[br.id] = br
        return {"created_branch_id": br.id, "created_version_id": v.id}


@router.get("/branches/{branch_id}")
async def get_branch(st: State, agent_id: str, branch_id: str) -> Any:
    rec = agent_or_404(st, agent_id)
    br = rec.branches.get(branch_id)
    if br is None:
        raise not_found("branch", branch_id)
    return rec.branch_response(br)


@router.patch("/branches/{branch_id}")
async def update_branch(st: State, agent_id: str, branch_id: str, body: BranchUpdate | None = None) -> Any:
    rec = agent_or_404(st, agent_id)
    body = body or BranchUpdate()
    with st.lock:
        br = rec.branches.get(branch_id)
        if br is None:
            raise not_found("branch", branch_id)
        if body.name is not None and body.name != br.name:
            if any(b.name == body.name for b in rec.branches.values() if not b.is_archived and b is not br):
                raise conflict("branch_exists", f"Branch '{body.name}' already exists.")
            br.name = body.name
        if body.is_archived is not None:
            if body.is_archived and br.id == rec.main_branch_id:
                raise invalid(["body", "is_archived"], "The main branch cannot be archived.")
            br.is_archived = body.is_archived
        if body.protection_status is not None:
            br.protection_status = body.protection_status
        return rec.branch_response(br)


def _pair(rec: Any, source_branch_id: str, target_branch_id: str) -> tuple[Branch, Branch]:
    src, dst = rec.branches.get(source_branch_id), rec.branches.get(target_branch_id)
    if src is None:
        raise not_found("branch", source_branch_id)
    if dst is None:
        raise not_found("branch", target_branch_id)
    if src.id == dst.id:
        raise invalid(["query", "target_branch_id"], "Cannot merge a branch into itself.")
    return src, dst


@router.get("/branches/{source_branch_id}/merge-preview")
async def merge_preview(st: State, agent_id: str, source_branch_id: str, target_branch_id: str = Query(...),
                        force: bool = False) -> Any:
    rec = agent_or_404(st, agent_id)
    src, dst = _pair(rec, source_branch_id, target_branch_id)
    m = rec.merge_result(src, dst, force=force)
    return {
        "agent_id": rec.agent_id, "name": rec.name, "conversation_config": m["conversation_config"],
        "metadata": {"created_at_unix_secs": rec.created, "updated_at_unix_secs": rec.updated},
        "platform_settings": m["platform_settings"], "phone_numbers": [], "access_info": rec.summary()["access_info"],
        "tags": rec.tags, "version_id": dst.tip.id, "branch_id": dst.id, "main_branch_id": rec.main_branch_id,
        "overridden_fields": [c["path"] for c in m["conflicts"]], "conflicts": m["conflicts"],
        "source_identical_to_target": (m["conversation_config"] == src.tip.conversation_config
                                       and m["platform_settings"] == src.tip.platform_settings),
    }


@router.post("/branches/{source_branch_id}/merge")
async def merge_branch(st: State, agent_id: str, source_branch_id: str, target_branch_id: str = Query(...),
                       body: BranchMerge | None = None) -> Any:
    rec = agent_or_404(st, agent_id)
    body = body or BranchMerge()
    with st.lock:
        src, dst = _pair(rec, source_branch_id, target_branch_id)
        if dst.is_archived:
            raise invalid(["query", "target_branch_id"], f"Branch '{dst.name}' is archived.")
        m = rec.merge_result(src, dst, force=body.force)
        v = rec.index(dst.commit(m["conversation_config"], m["platform_settings"], f"Merged {src.name}",
                                 merged_from_branch_id=src.id, merged_from_version_id=src.tip.id))
        src.merged_into_branch_id = dst.id
        if body.archive_source_branch and src.id != rec.main_branch_id:
            src.is_archived = True
        rec.updated = int(time.time())
        return {"merged_version_id": v.id, "target_branch_id": dst.id}


@router.post("/deployments")
async def deploy(st: State, agent_id: str, body: Deployments) -> Any:
    rec = agent_or_404(st, agent_id)
    split: dict[str, float] = {}
    for i, item in enumerate(body.deployment_request.requests):
        br = rec.branches.get(item.branch_id)
        if br is None or br.is_archived:
            raise invalid(["body", "deployment_request", "requests", i, "branch_id"],
                          f"No live branch {item.branch_id!r} on this agent.")
        split[br.id] = split.get(br.id, 0.0) + item.deployment_strategy.traffic_percentage
    if abs(sum(split.values()) - 100.0) > 0.01:
        raise invalid(["body", "deployment_request", "requests"],
                      f"The traffic percentages add up to {sum(split.values()):g}, not 100.")
    with st.lock:
        now = int(time.time())
        rec.deployments = [(a, now if u is None or u > now else u, s) for a, u, s in rec.deployments]
        rec.deployments.append((now, None, split))
    return {"traffic_percentage_branch_id_map": split}


@router.post("/drafts")
async def create_draft(st: State, agent_id: str, body: DraftCreate, branch_id: str = Query(...)) -> Any:
    rec = agent_or_404(st, agent_id)
    br = branch_or_404(rec, branch_id)
    st.check_config(body.conversation_config, body.platform_settings, ["body"])
    with st.lock:
        if br.draft is None:
            br.draft_created_at = int(time.time())
        br.draft = body.set_fields()
    return {}


@router.delete("/drafts")
async def delete_draft(st: State, agent_id: str, branch_id: str = Query(...)) -> Any:
    rec = agent_or_404(st, agent_id)
    br = branch_or_404(rec, branch_id)
    with st.lock:
        br.draft = None
        br.draft_created_at = None
    return {}
