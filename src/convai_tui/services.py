"""The service layer between the UI (or the CLI) and the API client / workspace.

The TUI never builds HTTP requests: it calls these methods (in workers) and renders
what they return. Imports no Textual.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Literal

from .api.errors import ConfigError
from .workspace.versions import PromptDraft, VersionStore

if TYPE_CHECKING:  # the api package (httpx, pydantic) is imported on first use, not at start-up
    from .api.client import ConvAIClient
    from .api.models import (
        Agent,
        AgentConfigOverride,
        AgentSummary,
        AgentTest,
        AgentTestBody,
        Branch,
        Conversation,
        ConversationsPage,
        MessageSearchPage,
        SimulationRequest,
        TestInvocation,
    )
    from .api.sim_events import SimulationUpdate

DAY = 86400


@dataclass
class ConversationFilter:
    success: str | None = None  # success | failure | unknown
    since_days: int | None = None
    feedback: str | None = None  # liked | disliked | rated_high | rated_low
    now: float | None = None  # for tests and demo data (default: time.time())

    def params(self) -> dict[str, Any]:
        p: dict[str, Any] = {}
        if self.success:
            p["call_successful"] = self.success
        if self.since_days:
            p["call_start_after_unix"] = int((self.now or time.time()) - self.since_days * DAY)
        if self.feedback == "liked":
            p["feedback"] = "like"
        elif self.feedback == "disliked":
            p["feedback"] = "dislike"
        elif self.feedback == "rated_high":
            p["rating_min"] = 4
        elif self.feedback == "rated_low":
            p["rating_max"] = 2
        return p


@dataclass
class RunTarget:
    """What a test run or simulation runs against."""

    kind: Literal["remote", "branch", "draft"] = "remote"
    branch_id: str | None = None
    draft: PromptDraft | None = None
    label: str = "remote agent"

    def override(self) -> AgentConfigOverride | None:
        from .api.models import AgentConfigOverride, ConversationConfig

        if self.kind == "draft" and self.draft is not None:
            return AgentConfigOverride(conversation_config=ConversationConfig.model_validate(
                self.draft.conversation_config()))
        return None


@dataclass
class Backend:
    api_key: str | None = None
    base_url: str | None = None
    demo: bool = False
    emulator_options: dict[str, Any] = field(default_factory=dict)
    workspace_dir: str | None = None
    client_options: dict[str, Any] = field(default_factory=dict)  # e.g. timeout, max_retries

    def __post_init__(self) -> None:
        self._workspace: Any = None
        self.client: ConvAIClient | None = None
        self._emulator: Any = None
        self._start_lock: asyncio.Lock | None = None
        self.demo_now: float | None = None

    # ------------------------------------------------------------------ workspace
    @property
    def workspace(self) -> Any:
        """The TOML workspace (created on first use: keeps start-up light)."""
        if self._workspace is None:
            from .workspace.store import Workspace

            if self.workspace_dir is None and self.demo:
                # The demo's emulator forgets everything on exit: keep its versions out of your cwd.
                import tempfile

                self.workspace_dir = tempfile.mkdtemp(prefix="convai-tui-demo-")
            self._workspace = Workspace(self.workspace_dir or ".")
        return self._workspace

    @property
    def versions(self) -> VersionStore:
        return self.workspace  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ lifecycle
    @property
    def label(self) -> str:
        if self.demo:
            return "demo · offline emulator"
        return self.base_url or "api.elevenlabs.io"

    async def start(self) -> None:
        """Start the emulator (demo) and build the client. Safe to call repeatedly."""
        if self.client is not None:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.client is not None:
                return
            # The TUI has imported the client already, on its main thread, just after its first
            # frame (in a worker thread the import fought the UI for the GIL and both were slower).
            ConvAIClient = _import_client()

            if self.demo:
                from .emulator.seed import SEED_NOW
                from .emulator.server import EmulatorServer
                from .emulator.state import EmulatorConfig

                cfg = EmulatorConfig(**self.emulator_options)
                server = EmulatorServer(cfg)
                server.start()
                await asyncio.to_thread(server.wait_ready, 60.0)
                self._emulator = server
                self.demo_now = SEED_NOW + DAY
                self.client = ConvAIClient(cfg.api_key, base_url=server.base_url, **self.client_options)
            else:
                if not self.api_key:
                    raise ConfigError("No API key: set ELEVENLABS_API_KEY (or pass --api-key-file), "
                                      "or run with --demo.")
                self.client = ConvAIClient(self.api_key, base_url=self.base_url, **self.client_options)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self._emulator is not None:
            await asyncio.to_thread(self._emulator.stop)

    async def _c(self) -> ConvAIClient:
        await self.start()
        assert self.client is not None
        return self.client

    # ------------------------------------------------------------------ agents
    async def agents(self) -> list[AgentSummary]:
        c = await self._c()
        return [a async for a in c.iter_agents(page_size=100)]

    async def agent(self, agent_id: str, branch_id: str | None = None) -> Agent:
        return await (await self._c()).get_agent(agent_id, branch_id=branch_id)

    async def branches(self, agent_id: str) -> list[Branch]:
        return (await (await self._c()).list_branches(agent_id)).results

    async def push_prompt(self, agent_id: str, draft: PromptDraft, *, branch_id: str | None = None,
                          message: str = "") -> Agent:
        from .api.models import AgentUpdate, ConversationConfig

        update = AgentUpdate(conversation_config=ConversationConfig.model_validate(draft.conversation_config()),
                             version_description=message or None)
        return await (await self._c()).update_agent(agent_id, update, branch_id=branch_id)

    async def pull(self, agent_id: str, *, branch_id: str | None = None) -> Any:
        from .workspace.sync import pull

        return await pull(self.workspace, await self._c(), agent_id, branch_id=branch_id)

    async def push(self, agent_id: str, draft: PromptDraft, *, force: bool = False, message: str = "") -> Any:
        """Push to the branch last pulled; raises ``PushConflict`` if the remote moved."""
        from .workspace.sync import push

        af = self.workspace.agent_file(agent_id)
        branch = af.branch_id if af else None
        return await push(self.workspace, await self._c(), agent_id, draft, branch_id=branch, force=force,
                          message=message)

    def track_remote(self, agent: Agent) -> str | None:
        """Opening an agent pulls its prompt: record the remote as the base and keep it as a
        version when it is new. Returns a note for the user when the remote had changed."""
        from .workspace.sync import _record_pull
        from .workspace.versions import agent_draft

        d = agent_draft(agent)
        af = self.workspace.agent_file(agent.agent_id)
        before = af.pulled.draft() if af and af.pulled else None
        note = None
        versions = self.versions.list(agent.agent_id)
        if not any(v.draft == d for v in versions[-1:]):
            v = self.versions.save(agent.agent_id, d, message=f"pulled {agent.version_id or ''}".strip(),
                                   source=f"remote:{agent.version_id or '?'}")
            if before is not None and before != d:
                note = f"The remote prompt changed since your last pull; saved it as {v.label}."
        branch = None if agent.branch_id == agent.main_branch_id else agent.branch_id
        if before != d or af is None or (af.branch_id or None) != branch:
            _record_pull(self.workspace, agent, branch)
        return note

    async def create_branch(self, agent_id: str, name: str, description: str = "") -> str:
        """A branch from the agent's current main version; returns its id."""
        from .api.models import BranchCreate

        c = await self._c()
        agent = await c.get_agent(agent_id)
        made = await c.create_branch(agent_id, BranchCreate(parent_version_id=agent.version_id or "", name=name,
                                                            description=description))
        return made.created_branch_id

    async def push_new_branch(self, agent_id: str, draft: PromptDraft, name: str, message: str = "") -> Any:
        from .workspace.sync import push

        return await push(self.workspace, await self._c(), agent_id, draft, create_branch=name, message=message)

    async def merge_branch(self, agent_id: str, branch_id: str, *, archive: bool = False) -> None:
        c = await self._c()
        agent = await c.get_agent(agent_id)
        await c.merge_branch(agent_id, branch_id, agent.main_branch_id or "", archive_source_branch=archive or None)

    def remote_base(self, agent_id: str) -> PromptDraft | None:
        """The prompt as it was at the last pull (what "remote" means in diffs)."""
        af = self.workspace.agent_file(agent_id)
        return af.pulled.draft() if af and af.pulled else None

    # ------------------------------------------------------------------ conversations
    async def conversations(self, agent_id: str, *, cursor: str | None = None, page_size: int = 50,
                            filters: ConversationFilter | None = None) -> ConversationsPage:
        f = filters or ConversationFilter()
        if f.now is None and self.demo_now:
            f = ConversationFilter(f.success, f.since_days, f.feedback, self.demo_now)
        return await (await self._c()).list_conversations(agent_id=agent_id, cursor=cursor, page_size=page_size,
                                                          **f.params())

    async def search(self, agent_id: str, text: str, *, cursor: str | None = None,
                     page_size: int = 50) -> MessageSearchPage:
        return await (await self._c()).search_messages(text, agent_id=agent_id, cursor=cursor, page_size=page_size)

    async def conversation(self, conversation_id: str) -> Conversation:
        return await (await self._c()).get_conversation(conversation_id)

    async def feedback(self, conversation_id: str, value: str | None) -> None:
        await (await self._c()).send_feedback(conversation_id, value)

    # ------------------------------------------------------------------ tests
    async def tests_for_agent(self, agent: Agent) -> list[AgentTest]:
        """The agent's attached tests (every test when none are attached)."""
        c = await self._c()
        ids = agent.attached_test_ids
        if not ids:
            ids = [t.id async for t in c.iter_tests()]
        sem = asyncio.Semaphore(8)

        async def one(tid: str) -> AgentTest | None:
            async with sem:
                try:
                    return await c.get_test(tid)
                except Exception:  # a deleted test stays attached: skip it
                    return None

        got = await asyncio.gather(*(one(t) for t in ids))
        return [t for t in got if t is not None]

    async def create_test(self, agent: Agent, body: AgentTestBody, *, attach: bool = True) -> str:
        from .api.models import AgentUpdate

        c = await self._c()
        made = await c.create_test(body)
        if attach:
            attached = [{"test_id": t} for t in agent.attached_test_ids] + [{"test_id": made.id}]
            await c.update_agent(agent.agent_id, AgentUpdate(platform_settings={"testing": {"attached_tests": attached}}))
        return made.id

    @staticmethod
    def test_from_conversation(conv: Conversation, upto: int, *, name: str, success_condition: str,
                               success_examples: list[str] | None = None,
                               failure_examples: list[str] | None = None) -> AgentTestBody:
        """An llm test whose chat history is the conversation up to and including turn ``upto``
        (the last user turn at or before it); the agent's original reply is kept as metadata."""
        from .api.models import AgentTestBody, FromConversationMetadata

        turns = conv.transcript[: upto + 1]
        while turns and turns[-1].role != "user":
            turns = turns[:-1]
        if not turns:
            raise ValueError("pick a turn at or after the caller's first message")
        reply = [t for t in conv.transcript[len(turns):len(turns) + 3] if t.role == "agent"][:1]
        return AgentTestBody(
            name=name, type="llm", chat_history=turns, success_condition=success_condition,
            success_examples=[{"response": s, "type": "success"} for s in success_examples or [] if s.strip()],
            failure_examples=[{"response": s, "type": "failure"} for s in failure_examples or [] if s.strip()],
            from_conversation_metadata=FromConversationMetadata(
                conversation_id=conv.conversation_id, agent_id=conv.agent_id, branch_id=conv.branch_id,
                original_agent_reply=reply or None),
        )

    async def run_tests(self, agent_id: str, test_ids: list[str], *, repeat: int = 1,
                        target: RunTarget | None = None, name: str | None = None) -> TestInvocation:
        from .api.models import RunTestsRequest, TestRef

        t = target or RunTarget()
        req = RunTestsRequest(tests=[TestRef(test_id=i) for i in test_ids], repeat_count=repeat,
                              branch_id=t.branch_id if t.kind == "branch" else None,
                              agent_config_override=t.override(), name=name)
        return await (await self._c()).run_tests(agent_id, req)

    async def poll(self, invocation_id: str, **kw: Any) -> AsyncIterator[TestInvocation]:
        c = await self._c()
        async for inv in c.poll_invocation(invocation_id, **kw):
            yield inv

    async def cancel(self, invocation_id: str) -> None:
        await (await self._c()).cancel_invocation(invocation_id)

    # ------------------------------------------------------------------ simulation
    async def simulate(self, agent_id: str, request: SimulationRequest,
                       target: RunTarget | None = None) -> AsyncIterator[SimulationUpdate]:
        from .api.simulations import run_simulation

        c = await self._c()
        t = target or RunTarget()
        async for upd in run_simulation(c, agent_id, request,
                                        branch_id=t.branch_id if t.kind == "branch" else None,
                                        agent_config_override=t.override()):
            yield upd


def _import_client() -> Any:
    from .api.client import ConvAIClient
    from .api import models  # noqa: F401  (warm the import before the first response)

    return ConvAIClient
