"""Agents and their branches."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from ..api.models import Agent, AgentSummary, Branch
    from .session import Session


class AgentsService:
    def __init__(self, session: Session) -> None:
        self.s = session

    async def list_all(self) -> list[AgentSummary]:
        c = await self.s.client()
        return [a async for a in c.iter_agents(page_size=100)]

    async def get(self, agent_id: str, *, branch_id: str | None = None) -> Agent:
        return await (await self.s.client()).get_agent(agent_id, branch_id=branch_id)

    async def branches(self, agent_id: str, *, include_archived: bool = False) -> list[Branch]:
        c = await self.s.client()
        return (await c.list_branches(agent_id, include_archived=include_archived)).results

    async def with_branches(self, agent_id: str) -> tuple[Agent, list[Branch]]:
        """The agent (main) and its live branches, fetched together."""
        agent, branches = await asyncio.gather(self.get(agent_id), self.branches(agent_id))
        return agent, branches

    async def resolve_branch(self, agent_id: str, ref: str) -> Branch:
        """A branch by name or id; an unknown one is a :class:`UsageError` listing the branches."""
        branches = await self.branches(agent_id)
        for b in branches:
            if ref in (b.id, b.name):
                return b
        names = ", ".join(b.name for b in branches) or "none"
        raise UsageError(f"no branch {ref!r} on {agent_id} (branches: {names})")

    async def branch_name(self, agent_id: str, branch_id: str | None) -> str:
        """``main`` for the main branch (or None), else the branch's name (its id if unknown)."""
        if not branch_id:
            return "main"
        for b in await self.branches(agent_id, include_archived=True):
            if b.id == branch_id:
                agent = await self.get(agent_id)
                return "main" if b.id == agent.main_branch_id else b.name
        return branch_id

    async def create_branch(self, agent_id: str, name: str, description: str = "") -> tuple[str, str]:
        """A branch from the agent's current main version: (branch id, version id)."""
        from ..api.models import BranchCreate

        c = await self.s.client()
        agent = await c.get_agent(agent_id)
        made = await c.create_branch(agent_id, BranchCreate(parent_version_id=agent.version_id or "", name=name,
                                                            description=description))
        return made.created_branch_id, made.created_version_id

    async def merge(self, agent_id: str, source: str, *, into: str | None = None, archive: bool = False) -> str:
        """Merge branch ``source`` (name or id) into ``into`` (default: main); returns the target's name."""
        c = await self.s.client()
        src = await self.resolve_branch(agent_id, source)
        if into:
            dst = await self.resolve_branch(agent_id, into)
            dst_id, dst_name = dst.id, dst.name
        else:
            dst_id, dst_name = (await c.get_agent(agent_id)).main_branch_id or "", "main"
        if src.id == dst_id:
            raise UsageError(f"cannot merge {src.name} into itself")
        await c.merge_branch(agent_id, src.id, dst_id, archive_source_branch=archive or None)
        return dst_name
