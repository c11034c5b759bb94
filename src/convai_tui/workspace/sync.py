"""Pull and push between the workspace and the API, never clobbering someone else's edit.

* ``pull`` records what the remote looked like (version id + content hash + the prompt
  fields themselves, the *base* of a later three-way comparison) and saves the remote
  prompt as a version.
* ``push`` first re-reads the remote: if its content hash differs from the base, someone
  changed it since the pull and the push is refused with a :class:`PushConflict` carrying
  base, remote and local, unless ``force``.
* Tests sync both ways: pulled tests become files (a locally edited file is not
  overwritten); pushing creates tests without a remote id and updates those changed since
  the last sync. Nothing is deleted remotely unless asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .files import WorkspaceError
from .store import AgentFile, PromptFields, PulledState, Workspace, body_hash, draft_hash, utcnow
from .versions import PromptDraft, PromptVersion, agent_draft

if TYPE_CHECKING:
    from ..api.client import ConvAIClient
    from ..api.models import Agent


class PushConflict(WorkspaceError):
    def __init__(self, agent_id: str, base: PromptDraft, remote: PromptDraft, local: PromptDraft,
                 remote_version: str | None) -> None:
        self.agent_id, self.base, self.remote, self.local = agent_id, base, remote, local
        self.remote_version = remote_version
        super().__init__(f"The remote prompt of {agent_id} changed since your last pull "
                         f"(now {remote_version or 'unknown version'}). Pull and merge, or push with --force.")


@dataclass
class PullResult:
    agent_id: str
    version: PromptVersion | None  # None: the remote prompt was already the latest version
    remote_version_id: str | None
    tests_written: list[str] = field(default_factory=list)
    tests_kept: list[str] = field(default_factory=list)  # local edits not overwritten


@dataclass
class PushResult:
    agent_id: str
    branch_id: str | None
    version_id: str | None
    created_branch: str | None = None
    forced: bool = False


def _record_pull(ws: Workspace, agent: "Agent", branch_id: str | None) -> None:
    d = agent_draft(agent)
    af = ws.agent_file(agent.agent_id) or AgentFile(agent_id=agent.agent_id)
    af.name = agent.name
    af.branch_id = branch_id
    af.pulled = PulledState(**PromptFields.of(d).model_dump(), version_id=agent.version_id,
                            content_hash=draft_hash(d), pulled_at=utcnow())
    ws.save_agent_file(af)


async def pull(ws: Workspace, client: "ConvAIClient", agent_id: str, *, branch_id: str | None = None,
               with_tests: bool = True) -> PullResult:
    agent = await client.get_agent(agent_id, branch_id=branch_id)
    ws.init(base_url=None, default_agent=agent_id)
    d = agent_draft(agent)
    versions = ws.list(agent_id)
    saved = None
    if not versions or versions[-1].draft != d:
        saved = ws.save(agent_id, d, message=f"pulled {agent.version_id or ''}".strip(),
                        source=f"remote:{agent.version_id or '?'}")
    _record_pull(ws, agent, branch_id)
    res = PullResult(agent_id, saved, agent.version_id)
    if with_tests:
        await _pull_tests(ws, client, agent, res)
    return res


async def _pull_tests(ws: Workspace, client: "ConvAIClient", agent: "Agent", res: PullResult) -> None:
    local = {t.sync.remote_id: t for t in ws.tests(agent.agent_id) if t.sync.remote_id}
    for tid in agent.attached_test_ids:
        try:
            remote = await client.get_test(tid)
        except Exception as exc:  # a dangling attachment: report, keep going
            res.tests_kept.append(f"{tid} (not readable: {exc})")
            continue
        body_data = {k: v for k, v in remote.to_wire().items() if k not in ("id",)}
        from ..api.models import AgentTestBody

        body = AgentTestBody.model_validate(body_data)
        mine = local.get(tid)
        if mine is None:
            path = ws.save_test(agent.agent_id, body, remote_id=tid, synced=True)
            res.tests_written.append(path.name)
        elif mine.changed_since_sync:
            res.tests_kept.append(f"{mine.path.name} (edited locally: not overwritten; push it or revert it)")
        elif body_hash(body) != mine.sync.synced_hash:
            ws.save_test(agent.agent_id, body, remote_id=tid, synced=True, path=mine.path)
            res.tests_written.append(mine.path.name)


async def push(ws: Workspace, client: "ConvAIClient", agent_id: str, local: PromptDraft, *,
               branch_id: str | None = None, create_branch: str | None = None, message: str = "",
               force: bool = False) -> PushResult:
    from ..api.models import AgentUpdate, BranchCreate, ConversationConfig

    af = ws.agent_file(agent_id)
    if af is None or af.pulled is None:
        raise WorkspaceError(f"{agent_id} was never pulled into this workspace: run `convai-tui pull {agent_id}` "
                             "first, so a later push can tell whether someone else changed the prompt.")
    created = None
    target_branch = branch_id
    if create_branch:
        agent = await client.get_agent(agent_id, branch_id=branch_id)
        made = await client.create_branch(agent_id, BranchCreate(parent_version_id=agent.version_id or "",
                                                                 name=create_branch,
                                                                 description=message or "created by convai-tui"))
        target_branch = made.created_branch_id
        created = made.created_branch_id
    else:
        remote = await client.get_agent(agent_id, branch_id=branch_id)
        rd = agent_draft(remote)
        same_branch = (branch_id or None) == (af.branch_id or None)
        base = af.pulled.draft()
        if not force and same_branch and draft_hash(rd) != af.pulled.content_hash and rd != local:
            raise PushConflict(agent_id, base, rd, local, remote.version_id)
        if not force and not same_branch and rd != local and draft_hash(rd) != draft_hash(base):
            # pushing to another branch than the one pulled: its remote must match what we pulled
            raise PushConflict(agent_id, base, rd, local, remote.version_id)
    update = AgentUpdate(conversation_config=ConversationConfig.model_validate(local.conversation_config()),
                         version_description=message or None)
    after = await client.update_agent(agent_id, update, branch_id=target_branch)
    _record_pull(ws, after, target_branch)
    return PushResult(agent_id, target_branch, after.version_id, created, force)


@dataclass
class TestsPushResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


TestsPushResult.__test__ = False  # type: ignore[attr-defined]


async def push_tests(ws: Workspace, client: "ConvAIClient", agent_id: str, *,
                     delete_remote_missing: bool = False) -> TestsPushResult:
    """Create local-only tests, update changed ones, attach them all to the agent.

    Remote tests attached to the agent but absent locally are deleted only when
    ``delete_remote_missing`` is given.
    """
    from ..api.models import AgentUpdate

    res = TestsPushResult()
    agent = await client.get_agent(agent_id)
    attached = list(agent.attached_test_ids)
    local_ids = set()
    for t in ws.tests(agent_id):
        if t.sync.remote_id is None:
            made = await client.create_test(t.body)
            ws.save_test(agent_id, t.body, remote_id=made.id, synced=True, path=t.path)
            res.created.append(t.path.name)
            local_ids.add(made.id)
            if made.id not in attached:
                attached.append(made.id)
        else:
            local_ids.add(t.sync.remote_id)
            if t.changed_since_sync:
                await client.update_test(t.sync.remote_id, t.body)
                ws.save_test(agent_id, t.body, remote_id=t.sync.remote_id, synced=True, path=t.path)
                res.updated.append(t.path.name)
            else:
                res.unchanged.append(t.path.name)
            if t.sync.remote_id not in attached:
                attached.append(t.sync.remote_id)
    if delete_remote_missing:
        for tid in [x for x in attached if x not in local_ids]:
            await client.delete_test(tid)
            attached.remove(tid)
            res.deleted.append(tid)
    if attached != agent.attached_test_ids:
        await client.update_agent(agent_id, AgentUpdate(platform_settings={"testing": {
            "attached_tests": [{"test_id": x} for x in attached]}}))
    return res
