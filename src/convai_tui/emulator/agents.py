"""Agents, their branches and versions.

Every commit is an immutable :class:`Version` holding the agent's ``conversation_config``
**and** ``platform_settings`` as they were (both are versioned, per branch: pushing a branch
never touches main's attached tests). A :class:`Branch` is a line of versions; main is one
of them. Version ids are a hash of where they sit and what they hold, so the seeded ones are
the same on every start (a workspace records them).
"""

from __future__ import annotations

import bisect
import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from . import seed as S
from .brain import AgentView, ToolMock, h

PARENT_KEYS = ("in_branch_parent_id", "out_of_branch_parent_id", "merged_into_branch_id", "merged_from_branch_id",
               "merged_from_version_id", "rebased_from_version_id")


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def prune_none(patch: dict[str, Any]) -> dict[str, Any]:
    """A partial update without its nulls: in a PATCH, ``null`` leaves a field as it is."""
    return {k: prune_none(v) if isinstance(v, dict) else v for k, v in patch.items() if v is not None}


@dataclass(eq=False)
class Version:
    id: str
    agent_id: str
    branch_id: str
    seq_no_in_branch: int
    time_committed_secs: int
    description: str
    conversation_config: dict[str, Any]
    platform_settings: dict[str, Any]
    parents: dict[str, str | None] = field(default_factory=dict)
    _views: dict[str, AgentView] = field(default_factory=dict, repr=False)

    def view(self, name: str) -> AgentView:
        """What the brain reads of this version (cached: versions never change)."""
        v = self._views.get(name)
        if v is None:
            v = self._views[name] = AgentView.from_config(self.agent_id, name, self.conversation_config,
                                                          self.platform_settings)
        return v

    def metadata(self) -> dict[str, Any]:
        """``AgentVersionMetadata``."""
        return {"id": self.id, "agent_id": self.agent_id, "branch_id": self.branch_id,
                "version_description": self.description, "seq_no_in_branch": self.seq_no_in_branch,
                "time_committed_secs": self.time_committed_secs,
                "parents": {k: self.parents.get(k) for k in PARENT_KEYS}, "access_info": S.CREATOR}


def tool_mocks_of(config: dict[str, Any]) -> dict[str, ToolMock]:
    tools = ((config.get("agent") or {}).get("prompt") or {}).get("tools") or []
    return {t["name"]: ToolMock(S.TOOL_RESULTS.get(t["name"], "Tool Called.")) for t in tools
            if isinstance(t, dict) and isinstance(t.get("name"), str)}


class Branch:
    def __init__(self, agent_id: str, branch_id: str, name: str, description: str, created: int,
                 parent: str | None = None) -> None:
        self.agent_id = agent_id
        self.id = branch_id
        self.name = name
        self.description = description
        self.created_at = created
        self.parent_branch_id = parent
        self.is_archived = False
        self.protection_status = "writer_perms_required"
        self.merged_into_branch_id: str | None = None
        self.versions: list[Version] = []
        self.draft: dict[str, Any] | None = None  # the caller's server-side draft (POST .../drafts)
        self.draft_created_at: int | None = None

    @property
    def tip(self) -> Version:
        return self.versions[-1]

    def commit(self, config: dict[str, Any], settings: dict[str, Any], description: str = "",
               when: int | None = None, **parents: str | None) -> Version:
        seq = len(self.versions)
        content = json.dumps([config, settings], sort_keys=True, default=str)
        vid = f"agtvrsn_{h(self.agent_id, self.id, seq, content):016x}"
        prev = self.versions[-1].id if self.versions else None
        v = Version(vid, self.agent_id, self.id, seq, int(when if when is not None else time.time()), description,
                    config, settings, {"in_branch_parent_id": prev, **parents})
        self.versions.append(v)
        return v

    def at(self, t: int) -> Version | None:
        """The version that was live on this branch at time ``t`` (None: the branch did not exist yet)."""
        i = bisect.bisect_right([v.time_committed_secs for v in self.versions], t)
        return self.versions[i - 1] if i else None

    def fork_point(self) -> str | None:
        """The id of the version (on another branch) this branch last took changes from."""
        for v in reversed(self.versions):
            src = v.parents.get("merged_from_version_id") or v.parents.get("out_of_branch_parent_id")
            if src:
                return src
        return None


class AgentRecord:
    def __init__(self, spec: dict[str, Any], history: list[tuple[int, str, str | None]] | None = None) -> None:
        self.agent_id = spec["agent_id"]
        self.name = spec["name"]
        self.tags = list(spec.get("tags", []))
        self.created = spec["created_at_unix_secs"]
        self.updated = self.created
        self.archived = False
        self.main_branch_id = f"agtbrch_{self.agent_id.removeprefix('agent_')}_main"
        main = Branch(self.agent_id, self.main_branch_id, "Main", "Main branch", self.created)
        self.branches: dict[str, Branch] = {main.id: main}
        self.deployments: list[tuple[int, int | None, dict[str, float]]] = []  # (from, until, {branch: %})
        self._versions: dict[str, Version] = {}
        config = spec["conversation_config"]
        settings = spec.get("platform_settings") or {}
        steps = history or [(0, "Initial version", None)]
        for days, description, prompt in steps:
            cfg = copy.deepcopy(config)
            if prompt is not None:
                cfg["agent"]["prompt"]["prompt"] = prompt
            when = max(self.created, S.SEED_NOW - days * S.DAY) if history else self.created
            self.index(main.commit(cfg, copy.deepcopy(settings), description, when))
        self.last_call: int | None = None

    # ------------------------------------------------------------------ lookups
    def index(self, v: Version) -> Version:
        self._versions[v.id] = v
        return v

    @property
    def main(self) -> Branch:
        return self.branches[self.main_branch_id]

    def branch(self, branch_id: str | None) -> Branch | None:
        return self.branches.get(branch_id or self.main_branch_id)

    def version(self, version_id: str) -> Version | None:
        return self._versions.get(version_id)

    def versions(self) -> Iterator[Version]:
        return iter(self._versions.values())

    def config(self, branch_id: str | None = None, version_id: str | None = None) -> dict[str, Any] | None:
        if version_id:
            v = self.version(version_id)
            return v.conversation_config if v else None
        b = self.branch(branch_id)
        return b.tip.conversation_config if b else None

    @property
    def platform_settings(self) -> dict[str, Any]:
        """Main's current platform settings (each branch has its own, in its versions)."""
        return self.main.tip.platform_settings

    def view(self, branch_id: str | None = None, override: dict[str, Any] | None = None,
             version: Version | None = None) -> AgentView:
        v = version or (self.branch(branch_id) or self.main).tip
        if not override:
            return v.view(self.name)
        cfg = deep_merge(v.conversation_config, override.get("conversation_config") or {})
        ps = deep_merge(v.platform_settings, override.get("platform_settings") or {})
        return AgentView.from_config(self.agent_id, self.name, cfg, ps)

    def tool_mocks(self, branch_id: str | None = None, version: Version | None = None) -> dict[str, ToolMock]:
        v = version or (self.branch(branch_id) or self.main).tip
        return tool_mocks_of(v.conversation_config)

    # ------------------------------------------------------------------ traffic
    def split_at(self, t: int) -> dict[str, float]:
        """The deployment split (branch id -> percentage) live at time ``t``; main takes the rest."""
        for start, until, split in reversed(self.deployments):
            if start <= t and (until is None or t < until):
                return split
        return {}

    def live_percentage(self, branch_id: str, now: int | None = None) -> float:
        split = self.split_at(int(time.time()) if now is None else now)
        if branch_id == self.main_branch_id:
            return max(0.0, 100.0 - sum(p for b, p in split.items() if b != self.main_branch_id)) \
                if self.main_branch_id not in split else split[self.main_branch_id]
        return split.get(branch_id, 0.0)

    # ------------------------------------------------------------------ JSON
    def to_json(self, branch_id: str | None = None, version_id: str | None = None) -> dict[str, Any]:
        """``GetAgentResponseModel``."""
        if version_id:
            v = self.version(version_id)
        else:
            b = self.branch(branch_id)
            v = b.tip if b else None
        assert v is not None
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "conversation_config": v.conversation_config,
            "metadata": {"created_at_unix_secs": self.created, "updated_at_unix_secs": self.updated},
            "platform_settings": v.platform_settings,
            "phone_numbers": [],
            "access_info": S.CREATOR,
            "tags": self.tags,
            "version_id": v.id,
            "branch_id": v.branch_id,
            "main_branch_id": self.main_branch_id,
        }

    def summary(self) -> dict[str, Any]:
        """``AgentSummaryResponseModel``."""
        return {"agent_id": self.agent_id, "name": self.name, "voice_id": "21m00Tcm4TlvDq8ikWAM", "tags": self.tags,
                "created_at_unix_secs": self.created, "updated_at_unix_secs": self.updated,  # (SDK 2.78.0)
                "access_info": S.CREATOR, "last_call_time_unix_secs": self.last_call, "archived": self.archived}

    def branch_summary(self, b: Branch, *, commit_status: bool = True, calls_7d: int = 0) -> dict[str, Any]:
        """``AgentBranchSummary``."""
        ahead = behind = None
        if commit_status:
            ahead, behind = self.divergence(b)
        return {
            "id": b.id, "name": b.name, "agent_id": self.agent_id, "description": b.description,
            "created_at": b.created_at, "last_committed_at": b.tip.time_committed_secs, "is_archived": b.is_archived,
            "protection_status": b.protection_status, "access_info": S.CREATOR,
            "current_live_percentage": self.live_percentage(b.id), "parent_branch_id": b.parent_branch_id,
            "draft_exists": b.draft is not None, "draft_created_at": b.draft_created_at,
            "draft_is_behind_tip": b.draft_created_at is not None and b.draft_created_at < b.tip.time_committed_secs,
            "calls_7d": calls_7d, "commits_ahead": ahead, "commits_behind": behind,
            "merged_into_branch_id": b.merged_into_branch_id,
        }

    def branch_response(self, b: Branch) -> dict[str, Any]:
        """``AgentBranchResponse``: the branch and its most recent versions, newest first."""
        parent = self.branches.get(b.parent_branch_id or "")
        return {
            "id": b.id, "name": b.name, "agent_id": self.agent_id, "description": b.description,
            "created_at": b.created_at, "last_committed_at": b.tip.time_committed_secs, "is_archived": b.is_archived,
            "protection_status": b.protection_status, "access_info": S.CREATOR,
            "current_live_percentage": self.live_percentage(b.id),
            "parent_branch": {"id": parent.id, "name": parent.name} if parent else None,
            "most_recent_versions": [v.metadata() for v in reversed(b.versions[-10:])],
        }

    def divergence(self, b: Branch) -> tuple[int, int]:
        """(commits on ``b`` not on main, commits on main not on ``b``) since their common ancestor."""
        main = self.main
        if b.id == main.id:
            return 0, 0
        merged_into_main = {v.parents.get("merged_from_version_id") for v in main.versions}
        last_merged = max((i for i, v in enumerate(b.versions) if v.id in merged_into_main), default=-1)
        base = self.version(b.fork_point() or "")
        behind = len(main.versions) - 1 - base.seq_no_in_branch if base and base.branch_id == main.id else 0
        return len(b.versions) - 1 - last_merged, max(0, behind)

    # ------------------------------------------------------------------ merge
    def merge_base(self, src: Branch, dst: Branch) -> Version | None:
        """The common ancestor of two branch tips (walking the version DAG)."""
        def ancestors(v: Version) -> list[Version]:
            seen: dict[str, Version] = {}
            stack = [v]
            while stack:
                cur = stack.pop()
                if cur.id in seen:
                    continue
                seen[cur.id] = cur
                for key in ("in_branch_parent_id", "out_of_branch_parent_id", "merged_from_version_id"):
                    pid = cur.parents.get(key)
                    if pid and (p := self.version(pid)) is not None:
                        stack.append(p)
            return list(seen.values())

        dst_anc = {v.id for v in ancestors(dst.tip)}
        common = [v for v in ancestors(src.tip) if v.id in dst_anc]
        return max(common, key=lambda v: (v.time_committed_secs, v.seq_no_in_branch), default=None)

    def merge_result(self, src: Branch, dst: Branch, *, force: bool = False) -> dict[str, Any]:
        """The merged config of ``src`` into ``dst`` (three-way, per leaf field) and its conflicts."""
        base = self.merge_base(src, dst)
        out: dict[str, Any] = {}
        conflicts: list[dict[str, Any]] = []
        src_newer = src.tip.time_committed_secs >= dst.tip.time_committed_secs
        for section in ("conversation_config", "platform_settings"):
            b = _flatten(getattr(base, section)) if base else {}
            s = _flatten(getattr(src.tip, section))
            d = _flatten(getattr(dst.tip, section))
            merged: dict[tuple[str, ...], Any] = {}
            for path in sorted(set(b) | set(s) | set(d)):
                bv, sv, dv = b.get(path, _MISSING), s.get(path, _MISSING), d.get(path, _MISSING)
                s_changed, d_changed = sv != bv, dv != bv
                if s_changed and d_changed and sv != dv:
                    conflicts.append({"path": ".".join(path), "section": section,
                                      **{k: (None if val is _MISSING else val) for k, val in
                                         (("base_value", bv), ("source_value", sv), ("target_value", dv))}})
                    val = sv if force or src_newer else dv
                elif s_changed:
                    val = sv
                else:
                    val = dv
                if val is not _MISSING:
                    merged[path] = val
            out[section] = _unflatten(merged)
        return {"conversation_config": out["conversation_config"], "platform_settings": out["platform_settings"],
                "conflicts": conflicts, "base": base}


_MISSING: Any = object()


def _flatten(d: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for k, v in d.items():
        p = (*prefix, str(k))
        if isinstance(v, dict) and v:
            out.update(_flatten(v, p))
        else:
            out[p] = v
    return out


def _unflatten(flat: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, v in flat.items():
        cur = out
        for part in path[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = cur[part] = {}
            cur = nxt
        cur[path[-1]] = copy.deepcopy(v)
    return out
