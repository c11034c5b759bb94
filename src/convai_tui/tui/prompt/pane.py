"""The Prompt pane: system prompt editor, first message, llm, temperature, saved versions, diff, pull
and push. Everything it keeps on disk goes through the prompts service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TextArea

from ...api.errors import ConvAIError
from ...services.errors import ConflictError, UsageError
from ...workspace.errors import WorkspaceError
from ...workspace.versions import PromptDraft, PromptVersion, agent_draft
from ..messages import AgentChanged
from ..widgets.status import StatusLine
from .versions import VersionsScreen

if TYPE_CHECKING:
    from ...api.models import Agent
    from ...services.session import Session


class PromptEditor(TextArea):
    """TextArea plus document start/end keys."""

    BINDINGS = [
        Binding("ctrl+home", "document_start", "Start", show=False),
        Binding("ctrl+end", "document_end", "End", show=False),
    ]

    def action_document_start(self) -> None:
        self.move_cursor((0, 0))

    def action_document_end(self) -> None:
        self.move_cursor(self.document.end)


class PromptPane(Vertical):
    BINDINGS = [
        Binding("ctrl+s", "save_version", "Save version"),
        Binding("ctrl+o", "versions", "Versions"),
        Binding("f3", "diff", "Diff"),
        Binding("f4", "push", "Push"),
        Binding("f5", "pull", "Pull"),
        Binding("ctrl+u", "revert", "Revert", show=False),
    ]
    AUTOSAVE_SECONDS = 2.0

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.agent: Agent | None = None
        self.remote: PromptDraft | None = None
        self.baseline: PromptDraft | None = None  # what "unmodified" means: last loaded or saved
        self._loading = False
        self._autosaved: PromptDraft | None = None

    def compose(self) -> ComposeResult:
        yield PromptEditor("", id="prompt-text", soft_wrap=True, show_line_numbers=True, tab_behavior="indent")
        with Horizontal(classes="fields"):
            yield Input(placeholder="First message", id="prompt-first", classes="wide")
            yield Input(placeholder="llm", id="prompt-llm", classes="llm")
            yield Input(placeholder="temp", id="prompt-temp", classes="temp")
        yield StatusLine("Waiting for the agent…", id="prompt-status")

    def on_mount(self) -> None:
        self.query_one("#prompt-text", TextArea).loading = True
        self.set_interval(self.AUTOSAVE_SECONDS, self._autosave)

    # ------------------------------------------------------------------ state
    def _notify_problems(self) -> None:
        ws = self.session.workspace
        for p in ws.problems:
            self.app.notify(p, title="Skipped a malformed file", severity="warning", markup=False, timeout=10)
        ws.problems.clear()

    def load_agent(self, agent: Agent) -> None:
        self.agent = agent
        remote = agent_draft(agent)
        self.remote = remote
        try:
            note = self.session.prompts.track_remote(agent)
        except WorkspaceError as exc:
            note = None
            self.app.notify(str(exc), title="Workspace", severity="error", markup=False)
        if note:
            self.app.notify(note, title="Remote changed", severity="warning", markup=False)
        self.set_draft(remote)
        self.baseline = remote
        self._autosaved = remote
        self.query_one("#prompt-text", TextArea).loading = False
        self._update_status()
        self._offer_draft(agent.agent_id)
        self._notify_problems()

    def _offer_draft(self, agent_id: str) -> None:
        """A draft autosaved by an earlier session (crash, dropped SSH) is offered back."""
        prompts = self.session.prompts
        try:
            found = prompts.saved_draft(agent_id)
        except WorkspaceError:
            found = None
        if not found:
            return
        draft, saved = found
        latest = prompts.versions(agent_id)[-1:]
        if draft == self.remote or (latest and latest[0].draft == draft):
            prompts.autosave_draft(agent_id, None)
            return

        def answer(restore: bool | None) -> None:
            if restore:
                self.set_draft(draft)
                self._autosaved = draft
                self.app.notify("Unsaved draft restored.")
            else:
                prompts.autosave_draft(agent_id, None)

        from .restore import RestoreDraftScreen

        self.app.push_screen(RestoreDraftScreen(saved or "an unknown time (written by hand?)", len(draft.prompt)),
                             answer)

    def _autosave(self) -> None:
        if self.agent is None or self._loading:
            return
        d = self.current_draft()
        if d == self._autosaved:
            return
        try:
            self.session.prompts.autosave_draft(self.agent.agent_id, d if self.dirty else None)
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="Autosave failed", severity="error", markup=False)
            return
        self._autosaved = d

    def set_draft(self, d: PromptDraft) -> None:
        self._loading = True
        ta = self.query_one("#prompt-text", TextArea)
        ta.load_text(d.prompt)
        self.query_one("#prompt-first", Input).value = d.first_message
        self.query_one("#prompt-llm", Input).value = d.llm
        self.query_one("#prompt-temp", Input).value = "" if d.temperature is None else f"{d.temperature:g}"
        self._loading = False
        self._update_status()

    def current_draft(self, *, strict: bool = False) -> PromptDraft:
        raw = self.query_one("#prompt-temp", Input).value.strip()
        temp: float | None = None
        if raw:
            try:
                temp = float(raw)
            except ValueError:
                if strict:
                    raise UsageError(f"temperature must be a number, got {raw!r}") from None
                temp = self.baseline.temperature if self.baseline else None
            else:
                if strict and not 0.0 <= temp <= 2.0:
                    raise UsageError("temperature must be between 0 and 2")
        return PromptDraft(prompt=self.query_one("#prompt-text", TextArea).text,
                           first_message=self.query_one("#prompt-first", Input).value,
                           llm=self.query_one("#prompt-llm", Input).value.strip(), temperature=temp)

    @property
    def dirty(self) -> bool:
        return self.baseline is not None and self.current_draft() != self.baseline

    def _update_status(self) -> None:
        if self.agent is None:
            return
        versions = self.session.prompts.versions(self.agent.agent_id)
        d = self.current_draft()
        same_as_remote = self.remote is not None and d == self.remote
        t = Text()
        t.append(f"{len(versions)} version(s) · ")
        t.append("matches remote" if same_as_remote else "differs from remote",
                 style="green" if same_as_remote else "yellow")
        t.append(f" · {len(d.prompt):,} chars, {d.prompt.count(chr(10)) + 1:,} lines", style="dim")
        self.query_one("#prompt-status", Label).update(t)
        frame = self.parent
        if frame is not None:  # the "Prompt" pane frame carries the dirty marker
            frame.border_subtitle = "● modified" if self.dirty else ""

    @on(TextArea.Changed, "#prompt-text")
    @on(Input.Changed, "#prompt-first, #prompt-llm, #prompt-temp")
    def _changed(self) -> None:
        if not self._loading:
            self._update_status()

    # ------------------------------------------------------------------ actions
    def action_save_version(self) -> PromptVersion | None:
        if self.agent is None:
            return None
        prompts = self.session.prompts
        try:
            d = self.current_draft(strict=True)
        except UsageError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return None
        versions = prompts.versions(self.agent.agent_id)
        if versions and versions[-1].draft == d:
            self.app.notify(f"No changes since {versions[-1].label}.")
            return versions[-1]
        try:
            v = prompts.save_version(self.agent.agent_id, d)
            prompts.autosave_draft(self.agent.agent_id, None)
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return None
        self._autosaved = d
        self.baseline = d
        self._update_status()
        self.app.notify(f"Saved {v.label}.")
        return v

    def action_versions(self) -> None:
        if self.agent is None:
            return

        def restore(v: PromptVersion | None) -> None:
            if v is not None:
                self.set_draft(v.draft)
                self.app.notify(f"Restored {v.label} into the editor (not saved yet).")

        self.app.push_screen(VersionsScreen(self.session.prompts.versions(self.agent.agent_id)), restore)

    # ------------------------------------------------------------------ diff, pull, push
    def diff_choices(self) -> list[tuple[str, str, PromptDraft]]:
        assert self.agent is not None
        prompts = self.session.prompts
        out: list[tuple[str, str, PromptDraft]] = [("editor (unsaved)", "editor", self.current_draft())]
        base = prompts.remote_base(self.agent.agent_id)
        if base is not None:
            out.append(("remote (last pull)", "remote", base))
        for v in reversed(prompts.versions(self.agent.agent_id)):
            out.append((f"{v.label} {v.message or v.source}"[:40], v.label, v.draft))
        return out

    def action_diff(self) -> None:
        if self.agent is None:
            return
        from .diff import DiffScreen

        choices = self.diff_choices()
        keys = [k for _, k, _ in choices]
        a = "remote" if "remote" in keys else keys[-1]
        self.app.push_screen(DiffScreen(choices, a, "editor", session=self.session, agent_id=self.agent.agent_id))

    @work(exclusive=True, group="pull")
    async def action_pull(self) -> None:
        if self.agent is None:
            return
        prompts = self.session.prompts
        branch = prompts.pulled_branch(self.agent.agent_id)
        try:
            res = await prompts.pull(self.agent.agent_id, branch=branch)
            agent = await self.session.agents.get(self.agent.agent_id, branch_id=res.branch_id)
        except (ConvAIError, WorkspaceError, UsageError) as exc:
            self.app.notify(str(exc), title="Pull failed", severity="error", markup=False)
            return
        self.remote = agent_draft(agent)
        self.agent = agent
        msg = f"Pulled {res.remote_version_id or 'remote'} ({res.branch_name})"
        msg += f": saved as v{res.version.number}." if res.version else " (no change)."
        if res.tests_written:
            msg += f" {len(res.tests_written)} test file(s) written."
        if not self.dirty:
            self.set_draft(self.remote)
            self.baseline = self.remote
        else:
            msg += " Your unsaved edits are kept in the editor."
        self._update_status()
        self.app.notify(msg, markup=False)

    def _draft_to_push(self) -> PromptDraft | None:
        """The editor's prompt, if it can be pushed (a temperature that is not a number cannot)."""
        if self.agent is None:
            return None
        try:
            return self.current_draft(strict=True)
        except UsageError as exc:
            self.app.notify(str(exc), title="Not pushed", severity="error", markup=False)
            return None

    def action_push(self) -> None:
        d = self._draft_to_push()
        if d is not None:
            self._push(d, False)

    @work(exclusive=True, group="push")
    async def _push(self, d: PromptDraft, force: bool) -> None:
        from ...services.prompts import PushConflict

        assert self.agent is not None
        agent_id = self.agent.agent_id
        prompts = self.session.prompts
        try:
            res = await prompts.push(agent_id, d, label="the editor", force=force, record_version=True)
        except PushConflict as c:
            from .conflict import ConflictScreen

            def decide(choice: str | None) -> None:
                if choice == "force":
                    self._push(d, True)
                elif choice == "pull":
                    self.action_pull()

            self.app.push_screen(ConflictScreen(c), decide)
            return
        except (ConvAIError, WorkspaceError, UsageError, ConflictError) as exc:
            self.app.notify(str(exc), title="Push failed", severity="error", markup=False, timeout=15)
            return
        self.remote = d
        self.baseline = d
        prompts.autosave_draft(agent_id, None)
        self._autosaved = d
        self._update_status()
        kept = f" (kept as {res.version.label})" if res.version else ""
        self.app.notify(f"Pushed the editor{kept} to {self.agent.name}, branch {res.branch_name} ({res.version_id})"
                        + (" — forced" if force else "") + ".", markup=False)

    def push_to_new_branch(self, name: str) -> None:
        d = self._draft_to_push()
        if d is not None:
            self._push_new_branch(d, name)

    @work(group="branches")
    async def _push_new_branch(self, d: PromptDraft, name: str) -> None:
        assert self.agent is not None
        agent_id = self.agent.agent_id
        try:
            res = await self.session.prompts.push(agent_id, d, label="the editor", create_branch=name,
                                                  record_version=True)
        except (ConvAIError, WorkspaceError, UsageError, ConflictError) as exc:
            self.app.notify(str(exc), title="Not pushed", severity="error", markup=False)
            return
        self.app.notify(f"Created branch {name} with the editor's prompt ({res.version_id}).", markup=False)
        self.post_message(AgentChanged(agent_id))

    def action_revert(self) -> None:
        if self.baseline is not None:
            self.set_draft(self.baseline)
            self.app.notify("Reverted to the last saved version.")
