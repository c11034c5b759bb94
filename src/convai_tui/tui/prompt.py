"""The Prompt pane: system prompt editor, first message, llm, temperature, saved versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TextArea

from ..workspace.versions import PromptDraft, PromptVersion
from .screens import VersionsScreen

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


def draft_of(agent: Agent) -> PromptDraft:
    p = agent.prompt
    return PromptDraft(prompt=p.prompt or "", first_message=agent.first_message, llm=p.llm or "",
                       temperature=p.temperature)


class PromptPane(Vertical):
    BINDINGS = [
        Binding("ctrl+s", "save_version", "Save version"),
        Binding("ctrl+o", "versions", "Versions"),
        Binding("ctrl+u", "revert", "Revert", show=False),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.agent: Agent | None = None
        self.remote: PromptDraft | None = None
        self.baseline: PromptDraft | None = None  # what "unmodified" means: last loaded or saved
        self._loading = False

    @property
    def capp(self) -> "ConvaiApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield PromptEditor("", id="prompt-text", soft_wrap=True, show_line_numbers=True, tab_behavior="indent")
        with Horizontal(classes="fields"):
            yield Input(placeholder="First message", id="prompt-first", classes="wide")
            yield Input(placeholder="llm", id="prompt-llm", classes="llm")
            yield Input(placeholder="temp", id="prompt-temp", classes="temp")
        yield Label("Waiting for the agent…", id="prompt-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#prompt-text", TextArea).loading = True

    # ------------------------------------------------------------------ state
    def load_agent(self, agent: Agent) -> None:
        self.agent = agent
        remote = draft_of(agent)
        self.remote = remote
        store = self.capp.backend.versions
        versions = store.list(agent.agent_id)
        # Keep the remote prompt as a version the first time we see it (or when it changed).
        if not any(v.draft == remote for v in versions):
            store.save(agent.agent_id, remote, message=f"pulled from {agent.version_id or 'remote'}",
                       source=f"remote:{agent.version_id or '?'}")
        self.set_draft(remote)
        self.baseline = remote
        self.query_one("#prompt-text", TextArea).loading = False
        self._update_status()

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
        v = self.capp.backend.versions.save(self.agent.agent_id, d)
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

    def action_revert(self) -> None:
        if self.baseline is not None:
            self.set_draft(self.baseline)
            self.app.notify("Reverted to the last saved version.")
