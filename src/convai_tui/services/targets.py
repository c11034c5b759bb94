"""Run targets: what a simulation, a test run or an A/B lane runs against, named exactly.

A target is the remote **main** branch (its live config), a named **branch**, saved **version N** of
the local workspace, or the **draft** (the editor's text, or ``draft.toml`` on the command line).
Versions and the draft are sent as ``agent_config_override`` (on the branch the workspace pulled
from, if any) and carry the content hash of their prompt fields, so every result can say exactly
which prompt produced it. Nothing here ever falls back to another target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..workspace.versions import PromptDraft, draft_hash

if TYPE_CHECKING:
    from ..api.models import AgentConfigOverride

TargetKind = Literal["remote", "branch", "version", "draft", "override"]  # override: made elsewhere


@dataclass(frozen=True)
class RunTarget:
    kind: TargetKind = "remote"
    branch_id: str | None = None  # branch: the branch; version/draft: the branch the override applies to
    branch_name: str | None = None
    version: int | None = None  # kind == "version"
    draft: PromptDraft | None = None  # version/draft: the prompt fields sent as override

    # ------------------------------------------------------------------ constructors
    @classmethod
    def remote(cls) -> "RunTarget":
        return cls("remote")

    @classmethod
    def for_branch(cls, branch_id: str, name: str) -> "RunTarget":
        return cls("branch", branch_id=branch_id, branch_name=name)

    @classmethod
    def for_version(cls, number: int, draft: PromptDraft, *, branch_id: str | None = None,
                    branch_name: str | None = None) -> "RunTarget":
        return cls("version", version=number, draft=draft, branch_id=branch_id, branch_name=branch_name)

    @classmethod
    def for_draft(cls, draft: PromptDraft, *, branch_id: str | None = None,
                  branch_name: str | None = None) -> "RunTarget":
        return cls("draft", draft=draft, branch_id=branch_id, branch_name=branch_name)

    # ------------------------------------------------------------------ naming
    @property
    def content_hash(self) -> str | None:
        return draft_hash(self.draft)[:8] if self.draft is not None else None

    @property
    def label(self) -> str:
        """``remote main`` · ``branch confirm-times`` · ``v3 · 1a2b3c4d`` · ``draft · 1a2b3c4d``."""
        on = f" on branch {self.branch_name}" if self.branch_id and self.kind in ("version", "draft") else ""
        if self.kind == "branch":
            return f"branch {self.branch_name or self.branch_id}"
        if self.kind == "version":
            return f"v{self.version} · {self.content_hash}{on}"
        if self.kind == "draft":
            return f"draft · {self.content_hash}{on}"
        if self.kind == "override":
            return "an override made elsewhere (prompt not recorded)"
        return "remote main"

    @property
    def key(self) -> str:
        """A stable identity: the same target, the same key (for pickers and run records)."""
        if self.kind == "branch":
            return f"branch:{self.branch_id}"
        if self.kind == "version":
            return f"v{self.version}:{self.content_hash}"
        if self.kind == "draft":
            return f"draft:{self.content_hash}"
        if self.kind == "override":
            return "override"
        return "remote"

    def describe(self) -> dict[str, Any]:
        """For ``--json``, JUnit properties and run records."""
        return {"kind": self.kind, "label": self.label, "branch_id": self.branch_id,
                "branch_name": self.branch_name, "version": self.version, "content_hash": self.content_hash}

    # ------------------------------------------------------------------ what is sent
    @property
    def run_branch_id(self) -> str | None:
        """``branch_id`` for run-tests (a branch, or the branch an override applies to)."""
        return self.branch_id

    @property
    def needs_test_road(self) -> bool:
        """simulate-conversation runs only the live config of main: anything else is a simulation test."""
        return self.kind != "remote"

    def override(self) -> AgentConfigOverride | None:
        if self.draft is None:
            return None
        from ..api.models import AgentConfigOverride, ConversationConfig

        return AgentConfigOverride(conversation_config=ConversationConfig.model_validate(
            self.draft.conversation_config()))

    @property
    def test_road(self) -> str:
        """How run-tests is asked to run this target (shown beside results)."""
        if self.kind == "remote":
            return "run-tests (live config)"
        if self.kind == "branch":
            return "run-tests (branch_id)"
        return "run-tests (agent_config_override" + (" + branch_id)" if self.branch_id else ")")
