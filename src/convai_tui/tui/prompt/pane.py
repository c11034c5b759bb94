"""The Prompt pane: system prompt editor, first message, llm, temperature, saved versions, diff, pull
and push. Everything it keeps on disk goes through the prompts service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, TextArea

from ...api.errors import ConvAIError
from ...services.errors import ConflictError, UsageError
from ...workspace.errors import WorkspaceError
from ...workspace.versions import PromptDraft, PromptVersion, agent_draft
from ...textutil import one_line
from ..widgets.loading import loaded
from ..messages import AgentChanged, CopyText
from ..widgets.fields import Field, TextEditor, is_text_widget
from ..widgets.status import StatusLine
from .versions import VersionsScreen

if TYPE_CHECKING:
    from ...api.models import Agent
    from ...services.session import Session


class PromptEditor(TextEditor):
    """The system prompt: soft wrap, line numbers, Tab indents; document start/end keys."""

    BINDINGS = [
        Binding("ctrl+home", "document_start", "Start", show=False, tooltip="Start of the prompt"),
        Binding("ctrl+end", "document_end", "End", show=False, tooltip="End of the prompt"),
    ]

    def action_document_start(self) -> None:
        self.move_cursor((0, 0))

    def action_document_end(self) -> None:
        self.move_cursor(self.document.end)


class FirstMessage(TextEditor):
    """The first message: wraps to show all of it (up to a few rows, then scrolls). Enter moves on
    to the next field (a newline pasted in is kept)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__("", soft_wrap=True, compact=True, tab_behavior="focus", **kw)

    async def _on_key(self, event: events.Key) -> None:
        # (Textual calls each class's _on_key in turn: TextEditor's runs after this one.)
        if event.key == "enter" and self.app.focused is self:
            event.stop()
            event.prevent_default()
            self.screen.focus_next()


class PromptPane(Vertical, can_focus=True):
    """Focus rests on the pane itself after Esc from a field (its single-letter keys work there)."""

    ALLOW_MAXIMIZE = False  # zoom maximizes the pane's frame
    BINDINGS = [
        Binding("ctrl+s", "save_version", "Save", tooltip="Save the editor as a new version, with an optional message"),
        Binding("ctrl+o", "versions", "Versions", tooltip="Saved versions: restore one (asks first over unsaved edits)"),
        Binding("f3", "diff", "Diff", tooltip="Side-by-side diff of any two versions, the remote or the editor"),
        Binding("f4", "push", "Push", show=False, tooltip="Push the editor's prompt to the branch pulled from"),
        Binding("f5", "pull", "Pull", show=False, tooltip="Pull the remote prompt (as a version) and the tests"),
        Binding("ctrl+r", "revert", "Revert", show=False, tooltip="Back to the last saved version (asks first)"),
        Binding("e", "external_editor", "$EDITOR", tooltip="Edit the prompt in $VISUAL / $EDITOR (vim, nano, emacs…): "
                "it comes back as an unsaved edit"),
        Binding("c", "copy", "Copy", show=False, tooltip="Copy the prompt (OSC 52)"),
        Binding("enter,i", "edit", "Edit", tooltip="Back into the prompt editor"),
    ]
    AUTOSAVE_SECONDS = 2.0
    _HOME_ONLY = {"external_editor", "copy", "edit"}  # letter keys: they type while a field has focus

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.agent: Agent | None = None
        self.remote: PromptDraft | None = None
        self.baseline: PromptDraft | None = None  # what "unmodified" means: last loaded, saved or restored
        self._loading = False
        self._autosaved: PromptDraft | None = None

    def compose(self) -> ComposeResult:
        yield PromptEditor("", id="prompt-text", soft_wrap=True, show_line_numbers=True, tab_behavior="indent")
        with Horizontal(classes="field-row"):
            yield Label("First message", classes="field-label")
            yield FirstMessage(id="prompt-first")
        with Horizontal(classes="field-row"):
            yield Label("LLM", classes="field-label")
            yield Field(id="prompt-llm", compact=True, classes="llm")
            yield Label("Temp", classes="field-label")
            yield Field(id="prompt-temp", compact=True, classes="temp")
        yield StatusLine("Waiting for the agent…", id="prompt-status")

    def on_mount(self) -> None:
        self.query_one("#prompt-text", TextArea).loading = True
        self.set_interval(self.AUTOSAVE_SECONDS, self._autosave)

    def focus_home(self) -> Widget:
        return self

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._HOME_ONLY:
            return not is_text_widget(self.app.focused)
        return True

    @property
    def editor(self) -> PromptEditor:
        return self.query_one("#prompt-text", PromptEditor)

    # ------------------------------------------------------------------ state
    def _notify_problems(self) -> None:
        ws = self.session.workspace
        for p in ws.problems:
            self.app.notify(p, title="Skipped a malformed file", severity="warning", markup=False, timeout=10)
        ws.problems.clear()

    def load_agent(self, agent: Agent) -> None:
        first = self.agent is None
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
        self.set_draft(remote, fresh=True)
        self.baseline = remote
        self._autosaved = remote
        loaded(self.editor)
        if first and self.app.focused is self:  # the pane was asked for before its prompt arrived
            self.screen.set_focus(self.editor)
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

    def set_draft(self, d: PromptDraft, *, fresh: bool = False) -> None:
        """Show ``d`` in the editor and fields. ``fresh``: a new start (no undo back past it); otherwise
        the change is an edit like any other, and ctrl+z in the editor brings the previous text back."""
        self._loading = True
        ta = self.editor
        if fresh:
            ta.load_text(d.prompt)
        elif ta.text != d.prompt:
            ta.replace(d.prompt, (0, 0), ta.document.end)
        first = self.query_one("#prompt-first", FirstMessage)
        if fresh:
            first.load_text(d.first_message)
        elif first.text != d.first_message:
            first.replace(d.first_message, (0, 0), first.document.end)  # undoable, as the editor
        temp = "" if d.temperature is None else f"{d.temperature:g}"
        for wid, value in (("#prompt-llm", d.llm), ("#prompt-temp", temp)):
            field = self.query_one(wid, Field)
            if fresh:
                field.load(value)
            elif field.value != value:
                field.value = value
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
        return PromptDraft(prompt=self.editor.text,
                           first_message=self.query_one("#prompt-first", FirstMessage).text,
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
        t.append("matches remote" if same_as_remote else "differs from remote",
                 style="green" if same_as_remote else "yellow")
        t.append(f" · {len(versions)} version{'s' if len(versions) != 1 else ''}")
        t.append(f" · {d.prompt.count(chr(10)) + 1:,} lines, {len(d.prompt):,} chars", style="dim")
        self.query_one("#prompt-status", Label).update(t)
        frame = self.parent
        if frame is not None:  # the "Prompt" pane frame carries the dirty marker
            frame.border_subtitle = "● modified" if self.dirty else ""

    @on(TextArea.Changed, "#prompt-text, #prompt-first")
    @on(Input.Changed, "#prompt-llm, #prompt-temp")
    def _changed(self) -> None:
        if not self._loading:
            self._update_status()

    # ------------------------------------------------------------------ actions
    def action_edit(self) -> None:
        self.editor.focus()

    def action_copy(self) -> None:
        self.post_message(CopyText(self.editor.text, "the prompt"))

    def action_save_version(self) -> None:
        """Ask for an optional message, then save (Enter with nothing saves without one)."""
        if self.agent is None:
            return
        prompts = self.session.prompts
        try:
            d = self.current_draft(strict=True)
        except UsageError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return
        versions = prompts.versions(self.agent.agent_id)
        if versions and versions[-1].draft == d:
            self.app.notify(f"No changes since {versions[-1].label}.")
            self._mark_saved(d)
            return
        from .save import SaveVersionScreen

        number = (versions[-1].number + 1) if versions else 1

        def answer(message: str | None) -> None:
            if message is not None:
                self.save_version(message)

        self.app.push_screen(SaveVersionScreen(f"v{number}"), answer)

    def save_version(self, message: str = "") -> PromptVersion | None:
        """Keep the editor's content as a new version now (with ``message`` in its file)."""
        if self.agent is None:
            return None
        prompts = self.session.prompts
        try:
            d = self.current_draft(strict=True)
        except UsageError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return None
        try:
            v = prompts.save_version(self.agent.agent_id, d, message=message)
            prompts.autosave_draft(self.agent.agent_id, None)
        except WorkspaceError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return None
        self._mark_saved(d)
        self.app.notify(f"Saved {v.label}" + (f": {one_line(message, 60)}" if message else "") + ".", markup=False)
        return v

    def _mark_saved(self, d: PromptDraft) -> None:
        self._autosaved = d
        self.baseline = d
        self._update_status()

    def action_versions(self) -> None:
        if self.agent is None:
            return

        def restore(v: PromptVersion | None) -> None:
            if v is not None:
                self._restore(v)

        agent_id = self.agent.agent_id
        self.app.push_screen(VersionsScreen(self.session.prompts.versions(agent_id), session=self.session,
                                            agent_id=agent_id), restore)

    def _restore(self, v: PromptVersion) -> None:
        """Restore a version into the editor; over unsaved edits, ask first (save them, discard, cancel)."""
        def go(choice: str | None) -> None:
            if choice == "save" and self.save_version("before restoring " + v.label) is None:
                return  # not saved: keep the edits, restore nothing
            if choice in ("save", "discard", "go"):
                self.set_draft(v.draft)
                self._mark_saved(v.draft)
                self.app.notify(f"Restored {v.label} into the editor (ctrl+z in the editor brings your text back).")

        if not self.dirty:
            go("go")
            return
        from ..widgets.dialogs import ChoiceScreen

        self.app.push_screen(ChoiceScreen(
            f"Restore {v.label}?",
            f"The editor has unsaved edits. Restoring {v.label} replaces them.",
            [("save", "Save my edits as a version, then restore", "primary"),
             ("discard", "Discard my edits and restore", "error"), ("cancel", "Cancel", "default")]), go)

    # ------------------------------------------------------------------ $EDITOR
    def action_external_editor(self) -> None:
        """Open the prompt in $VISUAL / $EDITOR, like ``git commit``: the app steps aside, the editor runs
        in this terminal, and what it saves comes back as an unsaved edit."""
        from .external import edit_externally

        if self.agent is None:
            return
        result = edit_externally(self.app, self.editor.text)
        if result.error:
            self.app.notify(result.error, title="$EDITOR", severity="error", markup=False, timeout=12)
            return
        if result.text is None or result.text == self.editor.text:
            self.app.notify("No change from the editor.")
            return
        ta = self.editor
        ta.replace(result.text, (0, 0), ta.document.end)
        self._update_status()
        ta.focus()
        self.app.notify(f"The prompt from {result.editor} is in the editor, not saved yet (ctrl+s saves, "
                        "ctrl+z undoes).", markup=False)

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
        if self.baseline is None:
            return
        if not self.dirty:
            self.app.notify("Nothing to revert: the editor holds the last saved version.")
            return
        baseline = self.baseline

        def go(choice: str | None) -> None:
            if choice == "discard":
                self.set_draft(baseline)
                self.app.notify("Reverted to the last saved version (ctrl+z in the editor brings your text back).")

        from ..widgets.dialogs import ChoiceScreen

        self.app.push_screen(ChoiceScreen("Revert?", "Discard your unsaved edits and go back to the last saved "
                                          "version?", [("discard", "Discard my edits", "error"),
                                                       ("cancel", "Cancel", "default")]), go)
