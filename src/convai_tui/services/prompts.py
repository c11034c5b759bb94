"""Prompts: saved versions, the draft, pull and push (never clobbering someone else's edit), diffs, and
the resolution of run targets.

* ``pull`` records what the remote looked like (version id, content hash and the prompt fields: the
  *base* of a later three-way comparison), the branch it came from, and saves the remote prompt as a
  version when it is new.
* ``push`` goes to the branch the workspace pulled from unless told otherwise. It re-reads the remote
  just before the PATCH: if its content moved since the base, the push is refused with a
  :class:`PushConflict` carrying base, remote and local (unless ``force``). The API has no conditional
  update, so after the PATCH it reads the remote back: if what is there now is not what was written, a
  :class:`PushRaced` says so (someone pushed within the same moment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..workspace.versions import PromptDraft, PromptVersion, agent_draft, draft_hash, draft_text
from .errors import ConflictError, TargetError, UsageError
from .targets import RunTarget

if TYPE_CHECKING:
    from ..api.models import Agent
    from ..workspace.diff import SideBySide
    from ..workspace.store import Workspace
    from .session import Session


class PushConflict(ConflictError):
    """The remote prompt changed since the last pull: pushing would clobber that edit."""

    def __init__(self, agent_id: str, base: PromptDraft, remote: PromptDraft, local: PromptDraft,
                 remote_version: str | None, branch_name: str) -> None:
        self.agent_id, self.base, self.remote, self.local = agent_id, base, remote, local
        self.remote_version, self.branch_name = remote_version, branch_name
        super().__init__(f"The remote prompt of {agent_id} ({branch_name}) changed since your last pull "
                         f"(now {remote_version or 'unknown version'}). Pull and merge, or push with --force.")


class PushRaced(ConflictError):
    """The PATCH landed, but someone else's push landed within the same moment."""


@dataclass
class PullResult:
    agent_id: str
    branch_id: str | None  # None: main
    branch_name: str
    version: PromptVersion | None  # None: the remote prompt was already the latest version
    remote_version_id: str | None
    tests_written: list[str] = field(default_factory=list)
    tests_kept: list[str] = field(default_factory=list)  # local edits not overwritten, dangling ids
    history: list[PromptVersion] = field(default_factory=list)  # older remote versions saved (--history)


@dataclass
class PushResult:
    agent_id: str
    pushed: str  # what was pushed: "v3", "draft · 1a2b3c4d", "editor · ..."
    branch_id: str | None  # None: main
    branch_name: str
    version_id: str | None  # the remote version it made
    version: PromptVersion | None = None  # the local version that now records it (new or existing)
    created_branch: str | None = None
    forced: bool = False


@dataclass
class DiffResult:
    a_label: str
    b_label: str
    a: PromptDraft
    b: PromptDraft

    @property
    def a_text(self) -> str:
        return draft_text(self.a)

    @property
    def b_text(self) -> str:
        return draft_text(self.b)

    def side_by_side(self) -> SideBySide:
        from ..workspace.diff import side_by_side

        return side_by_side(self.a_text, self.b_text)

    def unified(self, context: int = 3) -> list[str]:
        from ..workspace.diff import unified

        return unified(self.a_text, self.b_text, self.a_label, self.b_label, context=context)


PushSource = Literal["latest", "draft", "version", "given"]


def _holds(remote: PromptDraft, sent: PromptDraft) -> bool:
    """The remote holds what was sent (the fields a push sends: an empty llm or no temperature is not sent)."""
    return (remote.prompt == sent.prompt and remote.first_message == sent.first_message
            and (not sent.llm or remote.llm == sent.llm)
            and (sent.temperature is None or remote.temperature == sent.temperature))


class PromptsService:
    def __init__(self, session: Session) -> None:
        self.s = session

    @property
    def ws(self) -> Workspace:
        return self.s.workspace

    # ------------------------------------------------------------------ versions and the draft
    def versions(self, agent_id: str) -> list[PromptVersion]:
        return self.ws.list(agent_id)

    def version(self, agent_id: str, number: int) -> PromptVersion:
        versions = self.ws.list(agent_id)
        v = next((v for v in versions if v.number == number), None)
        if v is None:
            have = ", ".join(f"v{v.number}" for v in versions) or "none"
            raise TargetError(f"no version v{number} for {agent_id} (have: {have})")
        return v

    async def version_targets(self, agent_id: str, numbers: list[int]) -> list[RunTarget]:
        """:meth:`target` for many saved versions, the versions read once (the matrix's columns)."""
        versions = {v.number: v for v in self.ws.list(agent_id)}
        missing = [n for n in numbers if n not in versions]
        if missing:
            have = ", ".join(f"v{n}" for n in versions) or "none"
            raise TargetError(f"no version v{missing[0]} for {agent_id} (have: {have})")
        bid = self.pulled_branch(agent_id)
        bname = await self.s.agents.branch_name(agent_id, bid) if bid else None
        return [RunTarget.for_version(n, versions[n].draft, branch_id=bid, branch_name=bname) for n in numbers]

    def latest(self, agent_id: str) -> PromptVersion:
        versions = self.ws.list(agent_id)
        if not versions:
            raise TargetError(f"no saved versions for {agent_id}: pull it first (convai-tui pull {agent_id})")
        return versions[-1]

    def save_version(self, agent_id: str, draft: PromptDraft, message: str = "",
                     source: str = "local") -> PromptVersion:
        return self.ws.save(agent_id, draft, message=message, source=source)

    def draft(self, agent_id: str) -> PromptDraft:
        """The draft file, exactly: a missing or invalid ``draft.toml`` is a :class:`TargetError` naming
        the file and the problem. Never another version in its place."""
        from ..workspace.errors import WorkspaceError

        path = self.ws.draft_path(agent_id)
        try:
            found = self.ws.load_draft(agent_id, strict=True)
        except WorkspaceError as exc:
            raise TargetError(f"the draft cannot be used: {exc}") from None
        if found is None:
            raise TargetError(f"no draft: {path} does not exist (the TUI autosaves one while you edit; "
                              "or write it by hand: prompt = \"...\")")
        return found[0]

    def saved_draft(self, agent_id: str) -> tuple[PromptDraft, str | None] | None:
        """An autosaved draft to offer back (draft, when it was saved) or None; a malformed one is
        skipped (and reported through the workspace's problems)."""
        found = self.ws.load_draft(agent_id)
        if found is None:
            return None
        d, saved = found
        return d, saved.strftime("%Y-%m-%d %H:%M UTC") if saved else None

    def autosave_draft(self, agent_id: str, draft: PromptDraft | None) -> None:
        """Keep the editor's unsaved text (or, with None, forget it)."""
        if draft is None:
            self.ws.clear_draft(agent_id)
        else:
            self.ws.save_draft(agent_id, draft)

    def remote_base(self, agent_id: str) -> PromptDraft | None:
        """The prompt as it was at the last pull (what "remote" means in diffs)."""
        af = self.ws.agent_file(agent_id)
        return af.pulled.draft() if af and af.pulled else None

    def pulled_branch(self, agent_id: str) -> str | None:
        """The branch id the workspace pulled from (None: main)."""
        af = self.ws.agent_file(agent_id)
        return af.branch_id if af else None

    # ------------------------------------------------------------------ refs for diffs
    def resolve_ref(self, agent_id: str, ref: str) -> tuple[str, PromptDraft]:
        """``remote`` (as last pulled), ``draft``, ``latest``, or ``3``/``v3`` -> (label, prompt)."""
        r = ref.strip().lower()
        if r == "remote":
            af = self.ws.agent_file(agent_id)
            if af is None or af.pulled is None:
                raise UsageError(f"{agent_id} was never pulled: nothing to call 'remote' (run convai-tui pull)")
            return f"remote ({af.pulled.version_id or 'last pull'})", af.pulled.draft()
        if r == "draft":
            return "draft", self.draft(agent_id)
        if r == "latest":
            v = self.latest(agent_id)
            return v.label, v.draft
        num = r[1:] if r.startswith("v") else r
        if not (num.isascii() and num.isdigit()):
            raise UsageError(f"unknown version ref {ref!r}: use remote, draft, latest or a number (3 or v3)")
        v = self.version(agent_id, int(num))
        return v.label, v.draft

    def diff(self, agent_id: str, a: str, b: str) -> DiffResult:
        la, da = self.resolve_ref(agent_id, a)
        lb, db = self.resolve_ref(agent_id, b)
        return DiffResult(la, lb, da, db)

    def has_draft(self, agent_id: str) -> bool:
        return self.ws.draft_path(agent_id).exists()

    # ------------------------------------------------------------------ run targets
    async def target(self, agent_id: str, *, branch: str | None = None, version: int | None = None,
                     draft: bool = False, editor: PromptDraft | None = None) -> RunTarget:
        """The one way a front end names what to run: at most one of ``branch`` (name or id),
        ``version`` (a saved version), ``draft`` (``draft.toml``) or ``editor`` (the TUI's text);
        none of them means the remote main branch. Versions and drafts apply to the branch the
        workspace pulled from (as run-tests' ``branch_id``)."""
        given = [x for x in (branch, version, draft or None, editor) if x is not None]
        if len(given) > 1:
            raise UsageError("choose one target: a branch, a version, or the draft")
        if branch:
            b = await self.s.agents.resolve_branch(agent_id, branch)
            agent = await self.s.agents.get(agent_id)
            if b.id == agent.main_branch_id:
                return RunTarget.remote()
            return RunTarget.for_branch(b.id, b.name)
        if version is not None:
            return (await self.version_targets(agent_id, [version]))[0]
        if draft or editor is not None:
            bid = self.pulled_branch(agent_id)
            bname = await self.s.agents.branch_name(agent_id, bid) if bid else None
            return RunTarget.for_draft(editor if editor is not None else self.draft(agent_id), branch_id=bid,
                                       branch_name=bname)
        return RunTarget.remote()

    # ------------------------------------------------------------------ pull
    def _record_pull(self, agent: Agent, branch_id: str | None) -> None:
        from ..workspace.store import AgentFile, PromptFields, PulledState, utcnow

        d = agent_draft(agent)
        af = self.ws.agent_file(agent.agent_id) or AgentFile(agent_id=agent.agent_id)
        af.name = agent.name
        af.branch_id = branch_id
        af.pulled = PulledState(**PromptFields.of(d).model_dump(), version_id=agent.version_id,
                                content_hash=draft_hash(d), pulled_at=utcnow())
        self.ws.save_agent_file(af)

    async def pull(self, agent_id: str, *, branch: str | None = None, with_tests: bool = True,
                   history: bool = False) -> PullResult:
        """The remote prompt as the base (and a version when new), and the agent's tests. With
        ``history``, the branch's recent versions too, oldest first, each saved once (by content) with
        its description: so the matrix, the diff and bisect can work on what really ran."""
        branch_id, branch_name = None, "main"
        if branch:
            b = await self.s.agents.resolve_branch(agent_id, branch)
            branch_id, branch_name = b.id, b.name
        agent = await self.s.agents.get(agent_id, branch_id=branch_id)
        if branch_id and branch_id == agent.main_branch_id:
            branch_id, branch_name = None, "main"
        self.ws.init(default_agent=agent_id)
        d = agent_draft(agent)
        history_saved = await self._pull_history(agent_id, branch_id or agent.main_branch_id, d) if history else []
        versions = self.ws.list(agent_id)
        saved = None
        if not versions or versions[-1].draft != d:
            saved = self.ws.save(agent_id, d, message=f"pulled {agent.version_id or ''} ({branch_name})".strip(),
                                 source=f"remote:{agent.version_id or '?'}")
        self._record_pull(agent, branch_id)
        res = PullResult(agent_id, branch_id, branch_name, saved, agent.version_id, history=history_saved)
        if with_tests:
            res.tests_written, res.tests_kept = await self.s.tests.pull_files(agent)
        return res

    async def _pull_history(self, agent_id: str, branch_id: str | None, current: PromptDraft) -> list[PromptVersion]:
        """Save the branch's recent remote versions (oldest first) whose prompt is not saved yet."""
        if not branch_id:
            return []
        c = await self.s.client()
        branch = await c.get_branch(agent_id, branch_id)
        metas = sorted(branch.most_recent_versions or [], key=lambda v: v.time_committed_secs)
        have = {draft_hash(v.draft) for v in self.ws.list(agent_id)} | {draft_hash(current)}
        out = []
        for meta in metas:
            d = agent_draft(await c.get_agent(agent_id, version_id=meta.id))
            if draft_hash(d) in have:
                continue
            have.add(draft_hash(d))
            out.append(self.ws.save(agent_id, d, message=meta.version_description or f"remote {meta.id}",
                                    source=f"remote:{meta.id}"))
        return out

    def track_remote(self, agent: Agent) -> str | None:
        """Opening an agent in the TUI pulls its prompt: the remote becomes the base, and a version when
        its content is not one yet. Returns a note when the remote changed since the last pull."""
        d = agent_draft(agent)
        h = draft_hash(d)
        af = self.ws.agent_file(agent.agent_id)
        before = af.pulled.content_hash if af and af.pulled else None
        note = None
        if before != h and not any(v.draft == d for v in self.ws.list(agent.agent_id)):
            v = self.ws.save(agent.agent_id, d, message=f"pulled {agent.version_id or ''}".strip(),
                             source=f"remote:{agent.version_id or '?'}")
            if before is not None:
                note = f"The remote prompt changed since your last pull; saved it as {v.label}."
        branch = None if agent.branch_id == agent.main_branch_id else agent.branch_id
        if before != h or af is None or (af.branch_id or None) != branch:
            self._record_pull(agent, branch)
        return note

    # ------------------------------------------------------------------ push
    def push_source(self, agent_id: str, *, version: int | None = None, draft: bool = False) -> tuple[str, PromptDraft]:
        """What ``push`` sends: a version, the draft file (exactly; never a fallback), or the latest."""
        if version is not None and draft:
            raise UsageError("choose --version or --draft, not both")
        if draft:
            d = self.draft(agent_id)
            return f"draft · {draft_hash(d)[:8]}", d
        v = self.version(agent_id, version) if version is not None else self.latest(agent_id)
        return v.label, v.draft

    async def push(self, agent_id: str, local: PromptDraft, *, label: str, branch: str | None = None,
                   create_branch: str | None = None, message: str = "", force: bool = False,
                   record_version: bool = False) -> PushResult:
        """PATCH ``local`` to where the workspace pulled from (or ``branch``; or a new branch).

        ``record_version``: the pushed text is not a saved version yet (the draft, the editor): save it
        as one, with ``message``, so the message and what was pushed are kept."""
        from ..api.models import AgentUpdate, BranchCreate, ConversationConfig

        c = await self.s.client()
        af = self.ws.agent_file(agent_id)
        if af is None or af.pulled is None:
            raise UsageError(f"{agent_id} was never pulled into this workspace: run `convai-tui pull {agent_id}` "
                             "first, so a later push can tell whether someone else changed the prompt.")
        pulled_branch = af.branch_id or None
        created = None
        target_branch: str | None
        branch_name: str
        expected_parent: str | None
        if create_branch:
            agent = await c.get_agent(agent_id, branch_id=pulled_branch)
            made = await c.create_branch(agent_id, BranchCreate(parent_version_id=agent.version_id or "",
                                                                 name=create_branch,
                                                                 description=message or "created by convai-tui"))
            target_branch, branch_name = made.created_branch_id, create_branch
            created = made.created_branch_id
            expected_parent = made.created_version_id
        else:
            if branch:
                b = await self.s.agents.resolve_branch(agent_id, branch)
                target_branch, branch_name = b.id, b.name
            else:
                target_branch = pulled_branch
                branch_name = await self.s.agents.branch_name(agent_id, target_branch)
            # Re-read the remote just before the PATCH: the window for a silent overwrite is this short.
            remote = await c.get_agent(agent_id, branch_id=target_branch)
            if target_branch and target_branch == remote.main_branch_id:
                target_branch, branch_name = None, "main"
            rd = agent_draft(remote)
            base = af.pulled.draft()
            # The remote (of the branch pulled, or of another one) must still be what was pulled.
            moved = draft_hash(rd) != af.pulled.content_hash
            if not force and moved and rd != local:
                raise PushConflict(agent_id, base, rd, local, remote.version_id, branch_name)
            expected_parent = remote.version_id
        update = AgentUpdate(conversation_config=ConversationConfig.model_validate(local.conversation_config()),
                             version_description=message or None)
        after = await c.update_agent(agent_id, update, branch_id=target_branch)
        # Read back: the API has no conditional update, so a push from elsewhere within the same moment
        # can only be detected afterwards.
        now = await c.get_agent(agent_id, branch_id=target_branch)
        self._record_pull(after, target_branch)
        if (now.version_id != after.version_id) if (after.version_id and now.version_id) \
                else not _holds(agent_draft(now), local):
            raise PushRaced(
                f"Your push to {agent_id} ({branch_name}) landed as {after.version_id}, but the remote is now "
                f"{now.version_id}: someone else pushed at the same moment and theirs is what runs. Nothing was "
                "lost (your version is in the workspace); pull, compare and push again.")
        await self._check_parent(agent_id, after.version_id, expected_parent, branch_name)
        version = None
        if record_version:
            latest = self.ws.list(agent_id)[-1:]
            version = latest[0] if latest and latest[0].draft == local else self.ws.save(
                agent_id, local, message=message or f"pushed as {after.version_id}",
                source=f"remote:{after.version_id or '?'}")
        return PushResult(agent_id, label, target_branch, branch_name, after.version_id, version, created, force)

    async def _check_parent(self, agent_id: str, version_id: str | None, expected_parent: str | None,
                            branch_name: str) -> None:
        """The version the PATCH made must descend from the remote version checked just before it."""
        if not version_id or not expected_parent or version_id == expected_parent:
            return
        c = await self.s.client()
        from ..api.errors import NotFoundError

        try:
            meta = await c.get_version(agent_id, version_id)
        except NotFoundError:
            return
        p = meta.parents
        parents = [x for x in (p.in_branch_parent_id, p.out_of_branch_parent_id, p.merged_from_version_id,
                               p.rebased_from_version_id) if x]
        if parents and expected_parent not in parents:
            raise PushRaced(
                f"Your push to {agent_id} ({branch_name}) landed as {version_id} on top of {', '.join(parents)}, "
                f"not on {expected_parent} which you checked: someone else pushed at the same moment, and your "
                "push replaced theirs. Pull, compare and push again if theirs must be kept.")
