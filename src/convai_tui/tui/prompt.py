"""The Prompt pane: system prompt editor, first message, llm, temperature, saved versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TextArea

from ..api.errors import ConvAIError
from ..workspace.errors import WorkspaceError
from ..workspace.versions import PromptDraft, PromptVersion, agent_draft
from .screens import VersionsScreen
from .status import StatusLine

if TYPE_CHECKING:
    from ..api.models import Agent
    from .app import ConvaiApp


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

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.agent: Agent | None = None
        self.remote: PromptDraft | None = None
        self.baseline: PromptDraft | None = None  # what "unmodified" means: last loaded or saved
        self._loading = False
        self._autosaved: PromptDraft | None = None

    @property
    def capp(self) -> "ConvaiApp":
        return self.app  # type: ignore[return-value]

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
    def load_agent(self, agent: Agent) -> None:
        self.agent = agent
        remote = agent_draft(agent)
        self.remote = remote
        backend = self.capp.backend
        try:
            note = backend.track_remote(agent)
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
        for p in backend.workspace.problems:
            self.app.notify(p, title="Skipped a malformed file", severity="warning", markup=False, timeout=10)
        backend.workspace.problems.clear()

    def _offer_draft(self, agent_id: str) -> None:
        """A draft autosaved by an earlier session (crash, dropped SSH) is offered back."""
        try:
            found = self.capp.backend.workspace.load_draft(agent_id)
        except WorkspaceError:
            found = None
        if not found:
            return
        draft, saved = found
        latest = self.capp.backend.versions.list(agent_id)[-1:]
        if draft == self.remote or (latest and latest[0].draft == draft):
            self.capp.backend.workspace.clear_draft(agent_id)
            return

        def answer(restore: bool | None) -> None:
            if restore:
                self.set_draft(draft)
                self._autosaved = draft
                self.app.notify("Unsaved draft restored.")
            else:
                self.capp.backend.workspace.clear_draft(agent_id)

        from .screens import RestoreDraftScreen

        self.app.push_screen(RestoreDraftScreen(saved.strftime("%Y-%m-%d %H:%M UTC"), len(draft.prompt)), answer)

    def _autosave(self) -> None:
        if self.agent is None or self._loading:
            return
        d = self.current_draft()
        if d == self._autosaved:
            return
        try:
            if self.dirty:
                self.capp.backend.workspace.save_draft(self.agent.agent_id, d)
            else:
                self.capp.backend.workspace.clear_draft(self.agent.agent_id)
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
                    raise ValueError(f"temperature must be a number, got {raw!r}") from None
                temp = self.baseline.temperature if self.baseline else None
            else:
                if strict and not 0.0 <= temp <= 2.0:
                    raise ValueError("temperature must be between 0 and 2")
        return PromptDraft(prompt=self.query_one("#prompt-text", TextArea).text,
                           first_message=self.query_one("#prompt-first", Input).value,
                           llm=self.query_one("#prompt-llm", Input).value.strip(), temperature=temp)

    @property
    def dirty(self) -> bool:
        return self.baseline is not None and self.current_draft() != self.baseline

    def _update_status(self) -> None:
        if self.agent is None:
            return
        versions = self.capp.backend.versions.list(self.agent.agent_id)
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
        try:
            d = self.current_draft(strict=True)
        except ValueError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return None
        versions = self.capp.backend.versions.list(self.agent.agent_id)
        if versions and versions[-1].draft == d:
            self.app.notify(f"No changes since {versions[-1].label}.")
            return versions[-1]
        try:
            v = self.capp.backend.versions.save(self.agent.agent_id, d)
            self.capp.backend.workspace.clear_draft(self.agent.agent_id)
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

        self.app.push_screen(VersionsScreen(self.capp.backend.versions.list(self.agent.agent_id)), restore)

    # ------------------------------------------------------------------ diff, pull, push
    def diff_choices(self) -> list[tuple[str, str, PromptDraft]]:
        assert self.agent is not None
        out: list[tuple[str, str, PromptDraft]] = [("editor (unsaved)", "editor", self.current_draft())]
        base = self.capp.backend.remote_base(self.agent.agent_id)
        if base is not None:
            out.append(("remote (last pull)", "remote", base))
        for v in reversed(self.capp.backend.versions.list(self.agent.agent_id)):
            out.append((f"{v.label} {v.message or v.source}"[:40], v.label, v.draft))
        return out

    def action_diff(self) -> None:
        if self.agent is None:
            return
        from .diffview import DiffScreen

        choices = self.diff_choices()
        keys = [k for _, k, _ in choices]
        a = "remote" if "remote" in keys else keys[-1]
        self.app.push_screen(DiffScreen(choices, a, "editor"))

    @work(exclusive=True, group="pull")
    async def action_pull(self) -> None:
        if self.agent is None:
            return
        try:
            res = await self.capp.backend.pull(self.agent.agent_id)
            agent = await self.capp.backend.agent(self.agent.agent_id)
        except (ConvAIError, WorkspaceError) as exc:
            self.app.notify(str(exc), title="Pull failed", severity="error", markup=False)
            return
        self.remote = agent_draft(agent)
        self.agent = agent
        msg = f"Pulled {res.remote_version_id or 'remote'}"
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

    def action_push(self) -> None:
        if self.agent is None:
            return
        try:
            d = self.current_draft(strict=True)
        except ValueError as exc:
            self.app.notify(str(exc), title="Not pushed", severity="error", markup=False)
            return
        self._push(d, False)

    @work(exclusive=True, group="push")
    async def _push(self, d: PromptDraft, force: bool) -> None:
        from ..workspace.sync import PushConflict

        assert self.agent is not None
        try:
            res = await self.capp.backend.push(self.agent.agent_id, d, force=force)
        except PushConflict as c:
            from .screens import ConflictScreen

            def decide(choice: str | None) -> None:
                if choice == "force":
                    self._push(d, True)
                elif choice == "pull":
                    self.action_pull()

            self.app.push_screen(ConflictScreen(c), decide)
            return
        except (ConvAIError, WorkspaceError) as exc:
            self.app.notify(str(exc), title="Push failed", severity="error", markup=False)
            return
        self.remote = d
        latest = self.capp.backend.versions.list(self.agent.agent_id)[-1:]
        if latest and latest[0].draft != d:
            self.capp.backend.versions.save(self.agent.agent_id, d, message=f"pushed as {res.version_id}",
                                            source=f"remote:{res.version_id}")
        self.baseline = d
        self.capp.backend.workspace.clear_draft(self.agent.agent_id)
        self._autosaved = d
        self._update_status()
        self.app.notify(f"Pushed to {self.agent.name} ({res.version_id})" + (" — forced" if force else "") + ".",
                        markup=False)

    def action_revert(self) -> None:
        if self.baseline is not None:
            self.set_draft(self.baseline)
            self.app.notify("Reverted to the last saved version.")
