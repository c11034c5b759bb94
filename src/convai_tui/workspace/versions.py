"""Prompt versions: the data type and the store interface the UI uses."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..textutil import no_surrogates


def normalise_text(value: Any) -> str:
    """The one normalisation of a prompt's text fields: line endings (CRLF, lone CR) become LF,
    lone surrogates (not valid Unicode, cannot be saved) become U+FFFD, ``None`` becomes ``""``."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    return no_surrogates(s)


@dataclass(frozen=True)
class PromptDraft:
    """The editable part of an agent: what a version captures.

    Its text fields are always normalised (:func:`normalise_text`), however it is built: from the
    API (:func:`agent_draft`), a workspace file, the editor. So an unchanged remote prompt always
    compares equal to the version saved from it, whatever line endings the API used."""

    prompt: str = ""
    first_message: str = ""
    llm: str = ""
    temperature: float | None = None

    def __post_init__(self) -> None:
        for name in ("prompt", "first_message", "llm"):
            v = getattr(self, name)
            if type(v) is not str or "\r" in v or not v.isascii():
                object.__setattr__(self, name, normalise_text(v))

    def conversation_config(self) -> dict:
        """A partial ``conversation_config`` that sets exactly these fields."""
        p: dict = {"prompt": self.prompt}
        if self.llm:
            p["llm"] = self.llm
        if self.temperature is not None:
            p["temperature"] = self.temperature
        return {"agent": {"prompt": p, "first_message": self.first_message}}


def draft_hash(d: PromptDraft) -> str:
    """The content hash of a prompt's editable fields (16 hex digits; targets show the first 8)."""
    blob = json.dumps([normalise_text(d.prompt), normalise_text(d.first_message), normalise_text(d.llm),
                       d.temperature], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def draft_text(d: PromptDraft) -> str:
    """The whole editable prompt as one text, settings first so they diff too."""
    head = [f"# llm: {d.llm}", f"# temperature: {d.temperature}", f"# first_message: {d.first_message}", ""]
    return "\n".join(head) + d.prompt


def agent_draft(agent: Any) -> PromptDraft:
    """The editable prompt fields of an API ``Agent``: the single place drafts are built from the
    API. Every text field is normalised the same way (see :class:`PromptDraft`)."""
    p = agent.prompt
    return PromptDraft(prompt=p.prompt, first_message=agent.first_message, llm=p.llm, temperature=p.temperature)


@dataclass(frozen=True)
class PromptVersion:
    number: int
    draft: PromptDraft
    created: float = field(default_factory=time.time)
    message: str = ""
    source: str = "local"  # "local" or "remote:<version_id>"

    @property
    def label(self) -> str:
        return f"v{self.number}"

    def with_message(self, message: str) -> "PromptVersion":
        return replace(self, message=message)


class VersionStore(Protocol):
    """Where prompt versions of one agent live (memory now, TOML files in the workspace)."""

    def list(self, agent_id: str) -> list[PromptVersion]: ...

    def save(self, agent_id: str, draft: PromptDraft, message: str = "", source: str = "local") -> PromptVersion: ...

    def get(self, agent_id: str, number: int) -> PromptVersion | None: ...


class MemoryVersionStore:
    """Versions kept in memory for the life of the process."""

    def __init__(self) -> None:
        self._by_agent: dict[str, list[PromptVersion]] = {}

    def list(self, agent_id: str) -> list[PromptVersion]:
        return list(self._by_agent.get(agent_id, []))

    def save(self, agent_id: str, draft: PromptDraft, message: str = "", source: str = "local") -> PromptVersion:
        lst = self._by_agent.setdefault(agent_id, [])
        v = PromptVersion(number=len(lst) + 1, draft=draft, message=message, source=source)
        lst.append(v)
        return v

    def get(self, agent_id: str, number: int) -> PromptVersion | None:
        for v in self._by_agent.get(agent_id, []):
            if v.number == number:
                return v
        return None
