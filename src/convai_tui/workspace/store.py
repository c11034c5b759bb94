"""The on-disk workspace: a documented, human-editable, git-friendly tree of TOML files.

::

    convai.toml                       base_url, default_agent (never the API key)
    agents/<agent_id>/
      agent.toml                      agent id, name, branch, and what was last pulled
      prompts/v0001.toml ...          one file per saved prompt version
      draft.toml                      the autosaved working draft (crash recovery)
      scenarios/<name>.toml           simulation scenarios
      tests/<name>.toml               agent tests (with the remote id once synced)

Every read is validated; a bad file is reported as ``path:line:col: problem`` and is
never overwritten. Every write is atomic and refuses to clobber an external edit. Version
numbers are claimed atomically (exclusive creation), so processes saving at once (the TUI's
autosave, ``pull``, ``push --draft``) never lose a version. Nothing is read or written through
a symlink that leads outside the workspace (a cloned repository is not trusted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from . import files as F
from .config import CONFIG_NAME, WorkspaceConfig, read_config
from .scenarios import Criterion, Scenario, ToolMock
from .versions import PromptDraft, PromptVersion, draft_hash, normalise_text  # noqa: F401  (draft_hash: re-exported)

_VERSION_RE = re.compile(r"^v(\d+)\.toml$")  # v0001.toml ... v999999.toml, v1000000.toml, ...


def version_filename(number: int) -> str:
    """The canonical file name of version ``number`` (at least 4 digits, never capped)."""
    return f"v{number:04d}.toml"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# --------------------------------------------------------------------------- file schemas


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptFields(_Strict):
    prompt: str = ""
    first_message: str = ""
    llm: str = ""
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    def draft(self) -> PromptDraft:
        return PromptDraft(self.prompt, self.first_message, self.llm, self.temperature)

    @classmethod
    def of(cls, d: PromptDraft) -> "PromptFields":
        """The fields of ``d`` for a file (normalised like every draft); a value the file cannot
        hold (a temperature out of range, say) is a :class:`WorkspaceError`, not a crash."""
        try:
            return cls(prompt=normalise_text(d.prompt), first_message=normalise_text(d.first_message),
                       llm=normalise_text(d.llm), temperature=d.temperature)
        except PydanticValidationError as exc:
            err = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "(draft)"
            raise F.WorkspaceError(f"not saved: {where}: {err.get('msg', 'invalid value')}") from None


class PromptVersionFile(PromptFields):
    created: dt.datetime
    message: str = ""
    source: str = "local"


class DraftFile(PromptFields):
    saved: dt.datetime | None = None  # a hand-written draft needs only the prompt fields
    based_on: int | None = None


class PulledState(PromptFields):
    version_id: str | None = None
    content_hash: str
    pulled_at: dt.datetime


class AgentFile(_Strict):
    agent_id: str = Field(min_length=1)
    name: str = ""
    branch_id: str | None = None
    pulled: PulledState | None = None


class ToolMockFile(_Strict):
    return_value: str = "Tool Called."
    is_error: bool = False


class CriterionFile(_Strict):
    id: str = Field(min_length=1, pattern=r"^[\w\-]+$")
    goal: str = Field(min_length=1)
    name: str = ""


class ScenarioFile(_Strict):
    name: str = Field(min_length=1)
    persona: str = ""
    first_message: str = ""
    language: str = ""
    turn_limit: int = Field(default=20, ge=1, le=10000)
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    tool_mocks: dict[str, ToolMockFile] = Field(default_factory=dict)
    criteria: list[CriterionFile] = Field(default_factory=list)
    partial_history: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("partial_history")
    @classmethod
    def _turns(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, t in enumerate(v):
            if t.get("role") not in ("user", "agent"):
                raise ValueError(f"turn {i}: role must be 'user' or 'agent'")
        return v

    def scenario(self) -> Scenario:
        return Scenario(name=self.name, persona=self.persona, first_message=self.first_message,
                        language=self.language, turn_limit=self.turn_limit,
                        tool_mocks={k: ToolMock(m.return_value, m.is_error) for k, m in self.tool_mocks.items()},
                        criteria=[Criterion(c.id, c.goal, c.name) for c in self.criteria],
                        partial_history=list(self.partial_history), dynamic_variables=dict(self.dynamic_variables))

    @classmethod
    def of(cls, s: Scenario) -> "ScenarioFile":
        return cls(name=s.name, persona=s.persona, first_message=s.first_message, language=s.language,
                   turn_limit=s.turn_limit, dynamic_variables=s.dynamic_variables,
                   tool_mocks={k: ToolMockFile(return_value=m.return_value, is_error=m.is_error)
                               for k, m in s.tool_mocks.items()},
                   criteria=[CriterionFile(id=c.id, goal=c.goal, name=c.name) for c in s.criteria],
                   partial_history=s.partial_history)


class TestSync(_Strict):
    remote_id: str | None = None
    synced_hash: str | None = None  # hash of the body at the last pull/push


TestSync.__test__ = False  # type: ignore[attr-defined]


@dataclass
class LocalTest:
    path: Path
    body: Any  # convai_tui.api.models.AgentTestBody
    sync: TestSync
    digest: str

    @property
    def changed_since_sync(self) -> bool:
        return self.sync.synced_hash != body_hash(self.body)


LocalTest.__test__ = False  # type: ignore[attr-defined]


def body_hash(body: Any) -> str:
    data = body.to_wire() if hasattr(body, "to_wire") else body
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- the workspace


class Workspace:
    """A workspace rooted at a directory. Implements the ``VersionStore`` protocol."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.problems: list[str] = []  # files skipped because they are malformed
        self._digests: dict[Path, str | None] = {}

    # ------------------------------------------------------------------ helpers
    def _inside(self, path: Path) -> Path:
        """``path`` if it (through any symlink) stays inside the workspace; a WorkspaceError if not."""
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise F.WorkspaceError(f"{path}: leads outside the workspace (to {real}, through a symlink); "
                                   "not read or written")
        return path

    def _entries(self, d: Path, suffix: str = ".toml") -> list[Path]:
        """The ``*.toml`` files of directory ``d``, sorted; [] (and a problem noted) if unreadable."""
        try:
            if not d.is_dir():
                return []
            self._inside(d)
            return sorted(p for p in d.iterdir() if p.name.endswith(suffix) and not p.name.startswith("."))
        except F.WorkspaceError as exc:
            self._skip(exc)
        except OSError as exc:
            self._skip(F.WorkspaceError(f"{d}: cannot list: {exc.strerror or exc}"))
        return []

    def _load(self, path: Path, model: type[BaseModel]) -> BaseModel:
        loaded = F.read(self._inside(path))
        obj = F.validate(path, loaded.text, loaded.data, model)
        self._digests[path] = loaded.digest
        return obj

    def _write(self, path: Path, model: BaseModel, *, check: bool = True, overwrite: bool = False) -> None:
        data = F.dump_toml(model.model_dump(mode="python", exclude_none=True))
        # The file must still be what we loaded (or wrote); one we never loaded must not exist yet.
        expected: str | None | bool = False if (not check or overwrite) else self._digests.get(path)
        self._digests[path] = F.atomic_write(self._inside(path), data, expected_digest=expected)

    def _skip(self, exc: Exception) -> None:
        self.problems.append(str(exc))

    # ------------------------------------------------------------------ config
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def exists(self) -> bool:
        return self.config_path.is_file()

    def config(self) -> WorkspaceConfig:
        cfg, digest = read_config(self.root)
        if digest is not None:
            self._digests[self.config_path] = digest
        return cfg

    def save_config(self, cfg: WorkspaceConfig) -> None:
        data = F.dump_toml(cfg.to_data())
        self._digests[self.config_path] = F.atomic_write(self.config_path, data,
                                                         expected_digest=self._digests.get(self.config_path))

    def init(self, *, base_url: str | None = None, default_agent: str | None = None) -> None:
        cfg = self.config()
        changed = False
        if base_url and cfg.base_url != base_url:
            cfg.base_url, changed = base_url, True
        if default_agent and not cfg.default_agent:
            cfg.default_agent, changed = default_agent, True
        if changed or not self.config_path.exists():
            self.save_config(cfg)

    # ------------------------------------------------------------------ agents
    def agent_dir(self, agent_id: str) -> Path:
        return self.root / "agents" / F.safe_filename(agent_id, default="agent")

    def agent_ids(self) -> list[str]:
        base = self.root / "agents"
        out = []
        try:
            dirs = sorted(base.iterdir()) if base.is_dir() else []
        except OSError as exc:
            self._skip(F.WorkspaceError(f"{base}: cannot list: {exc.strerror or exc}"))
            dirs = []
        for d in dirs:
            af = d / "agent.toml"
            if af.is_file():
                try:
                    out.append(self._load(af, AgentFile).agent_id)  # type: ignore[attr-defined]
                except F.WorkspaceError as exc:
                    self._skip(exc)
        return out

    def agent_file(self, agent_id: str) -> AgentFile | None:
        path = self.agent_dir(agent_id) / "agent.toml"
        if not path.exists():
            return None
        return self._load(path, AgentFile)  # type: ignore[return-value]

    def save_agent_file(self, af: AgentFile) -> None:
        self._write(self.agent_dir(af.agent_id) / "agent.toml", af)

    # ------------------------------------------------------------------ prompt versions (VersionStore)
    def _prompts(self, agent_id: str) -> Path:
        return self.agent_dir(agent_id) / "prompts"

    def list(self, agent_id: str) -> list[PromptVersion]:
        """Every readable version, by number (however many digits). A malformed file is skipped
        and noted in ``problems``; so is a second file for one number (``v1.toml`` beside
        ``v0001.toml``: the canonical name wins)."""
        by_number: dict[int, Path] = {}
        for p in self._entries(self._prompts(agent_id)):
            m = _VERSION_RE.match(p.name)
            if not m:
                continue
            n = int(m.group(1))
            other = by_number.get(n)
            if other is not None:
                keep, drop = (p, other) if p.name == version_filename(n) else (other, p)
                by_number[n] = keep
                self._skip(F.WorkspaceError(f"{drop}: another file for version {n} ({keep.name}); skipped"))
                continue
            by_number[n] = p
        out: list[PromptVersion] = []
        for n in sorted(by_number):
            p = by_number[n]
            try:
                vf: PromptVersionFile = self._load(p, PromptVersionFile)  # type: ignore[assignment]
            except F.WorkspaceError as exc:
                self._skip(exc)
                continue
            out.append(PromptVersion(number=n, draft=vf.draft(), created=vf.created.timestamp(),
                                     message=vf.message, source=vf.source))
        return out

    def get(self, agent_id: str, number: int) -> PromptVersion | None:
        return next((v for v in self.list(agent_id) if v.number == number), None)

    def _highest(self, d: Path) -> int:
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise F.WorkspaceError(f"{d}: cannot list: {exc.strerror or exc}") from None
        return max((int(m.group(1)) for n in names if (m := _VERSION_RE.match(n))), default=0)

    def save(self, agent_id: str, draft: PromptDraft, message: str = "", source: str = "local") -> PromptVersion:
        """Save ``draft`` as the next version. The number is claimed atomically: the complete file
        is created under its name only if no other process took that number first (then the next
        number is tried), so concurrent saves never overwrite or lose one another."""
        d = self._inside(self._prompts(agent_id))
        fields = PromptFields.of(draft)
        created = utcnow()
        vf = PromptVersionFile(**fields.model_dump(), created=created, message=normalise_text(message),
                               source=normalise_text(source))
        data = F.dump_toml(vf.model_dump(mode="python", exclude_none=True))
        number = self._highest(d) + 1
        for attempt in range(1, 10_001):
            path = d / version_filename(number)
            try:
                self._digests[path] = F.atomic_write(path, data, expected_digest=None)
                break
            except F.ExternalEditConflict:  # another process took this number: take the next one
                number = number + 1 if attempt % 100 else self._highest(d) + 1
        else:  # pragma: no cover - 10,000 numbers taken under our feet
            raise F.WorkspaceError(f"{d}: not saved: could not claim a version number.")
        return PromptVersion(number=number, draft=fields.draft(), created=created.timestamp(),
                             message=vf.message, source=vf.source)

    # ------------------------------------------------------------------ draft autosave
    def draft_path(self, agent_id: str) -> Path:
        return self.agent_dir(agent_id) / "draft.toml"

    def save_draft(self, agent_id: str, draft: PromptDraft, based_on: int | None = None) -> None:
        df = DraftFile(**PromptFields.of(draft).model_dump(), saved=utcnow(), based_on=based_on)
        self._write(self.draft_path(agent_id), df, check=False)  # the draft is ours alone

    def load_draft(self, agent_id: str, *, strict: bool = False) -> tuple[PromptDraft, dt.datetime | None] | None:
        """The draft and when it was autosaved (None for a hand-written draft); None: no draft.
        A malformed draft is skipped (noted in ``problems``), or with ``strict`` raised."""
        path = self.draft_path(agent_id)
        if not path.exists():
            return None
        try:
            df: DraftFile = self._load(path, DraftFile)  # type: ignore[assignment]
        except F.WorkspaceError as exc:
            if strict:
                raise
            self._skip(exc)
            return None
        draft = df.draft()
        missing = {"first_message", "llm", "temperature"} - df.model_fields_set
        if missing:  # a hand-written draft with just the prompt: the rest is the remote's, as last pulled
            af = self.agent_file(agent_id) if (self.agent_dir(agent_id) / "agent.toml").exists() else None
            base = af.pulled.draft() if af and af.pulled else None
            if base is not None:
                draft = replace(draft, **{k: getattr(base, k) for k in missing})
        return draft, df.saved

    def clear_draft(self, agent_id: str) -> None:
        try:
            self._inside(self.draft_path(agent_id)).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise F.WorkspaceError(f"{self.draft_path(agent_id)}: not removed: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------ scenarios
    def scenario_path(self, agent_id: str, name: str) -> Path:
        return self.agent_dir(agent_id) / "scenarios" / f"{F.safe_filename(name, default='scenario')}.toml"

    def scenarios(self, agent_id: str) -> list[Scenario]:
        d = self.agent_dir(agent_id) / "scenarios"
        out = []
        for p in self._entries(d):
            try:
                out.append(self._load(p, ScenarioFile).scenario())  # type: ignore[attr-defined]
            except F.WorkspaceError as exc:
                self._skip(exc)
        return out

    def save_scenario(self, agent_id: str, scenario: Scenario, *, overwrite: bool = False) -> Path:
        path = self.scenario_path(agent_id, scenario.name)
        self._write(path, ScenarioFile.of(scenario), overwrite=overwrite)
        return path

    # ------------------------------------------------------------------ tests
    def test_path(self, agent_id: str, name: str) -> Path:
        return self.agent_dir(agent_id) / "tests" / f"{F.safe_filename(name, default='test')}.toml"

    def tests(self, agent_id: str) -> list[LocalTest]:
        from ..api.models import AgentTestBody

        d = self.agent_dir(agent_id) / "tests"
        out = []
        for p in self._entries(d):
            try:
                loaded = F.read(self._inside(p))
                data = dict(loaded.data)
                sync = data.pop("sync", {})
                text = loaded.text
                body = F.validate(p, text, data, AgentTestBody)
                sync_m = F.validate(p, text, {"sync": sync}, _SyncWrapper).sync  # type: ignore[attr-defined]
                self._digests[p] = loaded.digest
                out.append(LocalTest(p, body, sync_m, loaded.digest))
            except F.WorkspaceError as exc:
                self._skip(exc)
        return out

    def save_test(self, agent_id: str, body: Any, *, remote_id: str | None = None, synced: bool = False,
                  path: Path | None = None, overwrite: bool = False) -> Path:
        target = path or self.test_path(agent_id, body.name)
        if path is None and target.exists() and not overwrite:
            # same name, different test: never overwrite, pick a free name
            n = 2
            while target.exists():
                target = self.test_path(agent_id, f"{body.name}-{n}")
                n += 1
        try:
            data = body.to_wire()
            data["sync"] = {"remote_id": remote_id, "synced_hash": body_hash(body) if synced else None}
        except (ValueError, RecursionError) as exc:  # a value nested too deeply to serialise
            raise F.WorkspaceError(f"{target}: not saved: {str(exc)[:200]}") from None
        raw = F.dump_toml(data)
        expected: str | None | bool = False if overwrite else self._digests.get(target)
        self._digests[target] = F.atomic_write(self._inside(target), raw, expected_digest=expected)
        return target


class _SyncWrapper(_Strict):
    sync: TestSync = Field(default_factory=TestSync)
