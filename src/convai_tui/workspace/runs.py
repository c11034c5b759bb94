"""Run history: every test run and simulation run, one plain-text file per run.

``agents/<agent_id>/runs/<YYYYMMDD-HHMMSS>-<kind>-<id>.jsonl``, JSON Lines (one JSON value per line, so
a run reads well in a pager, diffs line by line in git, and loads fast):

* line 1, the **header**: what ran (kind, target with its version number and content hash, road, repeat
  count, invocation id, when, how long) and its totals (pass rate, failures, flaky tests). Listing a
  history reads only this line of each file.
* line 2, the **summary**: per test, its name and the status of each repeat (``"PPF"``), which is all a
  comparison needs.
* line 3, the **prompt** that ran (the version's or the draft's fields; null for a branch or the remote,
  whose prompt is the server's).
* then one line per result (test runs: per test and repeat, the status, the condition result, the
  rationale, the agent's responses) or per turn, then the analysis (simulation runs).

A file is written once, complete, under a name no other writer can take (exclusive creation), and never
rewritten. Retrying failures writes a new file whose header names its ``parent``; loading a run joins
its retries in. Imports no network and no Textual.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import FileFormatError, WorkspaceError

FORMAT = 1
KINDS = ("test", "test-retry", "simulation")
STATUS_CODE = {"passed": "P", "failed": "F", "cancelled": "C", "pending": "."}
CODE_STATUS = {v: k for k, v in STATUS_CODE.items()}


def status_code(status: str) -> str:
    return STATUS_CODE.get(status, "?")


def code_status(code: str) -> str:
    return CODE_STATUS.get(code, "unknown")


@dataclass
class RunHeader:
    id: str
    kind: str  # test | test-retry | simulation
    agent_id: str
    created: str  # ISO 8601, UTC
    target: dict[str, Any]  # RunTarget.describe(): kind, label, branch_id, branch_name, version, content_hash
    road: str = ""
    source: str = "local"  # local | remote (merged from the API's invocation history)
    duration_secs: float = 0.0
    invocation_id: str | None = None
    repeat: int = 1
    parent: str | None = None  # a retry: the run it retried
    group: str | None = None  # runs made together (the two lanes of an A/B)
    lane: str | None = None  # its lane in that group ("a", "b")
    tests: int = 0
    passed: int = 0  # results (test x repeat) that passed
    failed: int = 0
    other: int = 0  # cancelled, pending, unknown
    failed_tests: list[str] = field(default_factory=list)
    flaky_tests: list[str] = field(default_factory=list)
    scenario: str | None = None  # simulations
    call_successful: str | None = None  # simulations
    criteria: dict[str, str] = field(default_factory=dict)  # simulations: criterion id -> result
    turns: int = 0  # simulations
    path: Path | None = None

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created.replace("Z", "+00:00"))

    @property
    def pass_rate(self) -> float | None:
        done = self.passed + self.failed
        return self.passed / done if done else None

    @property
    def target_label(self) -> str:
        return str(self.target.get("label") or self.target.get("kind") or "?")

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "path"}
        out["convai_tui_run"] = FORMAT
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | None = None) -> "RunHeader":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "path"}
        for key in ("id", "kind", "agent_id", "created", "target"):
            if key not in known:
                raise ValueError(f"header: {key} is missing")
        if known["kind"] not in KINDS:
            raise ValueError(f"header: unknown kind {known['kind']!r}")
        if not isinstance(known["target"], dict):
            raise ValueError("header: target must be a table")
        return cls(**known, path=path)


@dataclass
class SummaryRow:
    test_id: str
    name: str
    type: str
    statuses: str  # one code per repeat: P passed, F failed, C cancelled, . pending, ? other


@dataclass
class RunFile:
    """A whole run file as written: header, summary, prompt, and the body lines."""

    header: RunHeader
    summary: list[SummaryRow]
    prompt: dict[str, Any] | None
    results: list[dict[str, Any]] = field(default_factory=list)  # test runs
    turns: list[dict[str, Any]] = field(default_factory=list)  # simulations
    analysis: dict[str, Any] | None = None  # simulations


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def _dumps(obj: Any) -> str:
    from ..jsonutil import dumps

    return dumps(obj)


class RunStore:
    """The run files of a workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []

    def runs_dir(self, agent_dir: Path) -> Path:
        return agent_dir / "runs"

    # ------------------------------------------------------------------ writing
    def write(self, agent_dir: Path, run: RunFile) -> Path:
        """Write a new run file (exclusively: an existing name is never replaced)."""
        h = run.header
        lines = [_dumps(h.to_json()),
                 _dumps({"summary": [[r.test_id, r.name, r.type, r.statuses] for r in run.summary]}),
                 _dumps({"prompt": run.prompt})]
        lines += [_dumps({"result": r}) for r in run.results]
        lines += [_dumps({"turn": t}) for t in run.turns]
        if run.analysis is not None:
            lines.append(_dumps({"analysis": run.analysis}))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        from .files import create_new

        path = self.runs_dir(agent_dir) / f"{h.id}-{h.kind}.jsonl"
        create_new(path, data)
        h.path = path
        return path

    # ------------------------------------------------------------------ reading
    def _paths(self, agent_dir: Path) -> list[Path]:
        d = self.runs_dir(agent_dir)
        if not d.is_dir():
            return []
        return sorted((p for p in d.iterdir() if p.suffix == ".jsonl" and p.is_file()), key=lambda p: p.name)

    def headers(self, agent_dir: Path) -> list[RunHeader]:
        """Every run's header, oldest first (one line read per file). Unreadable files are skipped and
        noted in ``problems``."""
        out = []
        for p in self._paths(agent_dir):
            try:
                with open(p, encoding="utf-8") as f:
                    first = f.readline(1 << 20)
                out.append(RunHeader.from_json(_obj(p, first, 1), p))
            except (OSError, UnicodeDecodeError, ValueError, FileFormatError) as exc:
                self.problems.append(f"{p}: skipped: {exc}")
        return out

    def summary(self, header: RunHeader) -> list[SummaryRow]:
        """The per-test statuses of a run (two lines read)."""
        assert header.path is not None
        with open(header.path, encoding="utf-8") as f:
            f.readline()
            line = f.readline()
        return _summary(header.path, line)

    def load(self, header: RunHeader) -> RunFile:
        """The whole run file."""
        p = header.path
        assert p is not None
        try:
            with open(p, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"{p}: cannot read the run: {exc}") from None
        if len(lines) < 3:
            raise FileFormatError(p, 1, 1, "a run file has a header, a summary and a prompt line")
        run = RunFile(header, _summary(p, lines[1]), _obj(p, lines[2], 3).get("prompt"))
        for n, line in enumerate(lines[3:], 4):
            if not line.strip():
                continue
            obj = _obj(p, line, n)
            if "result" in obj:
                run.results.append(obj["result"])
            elif "turn" in obj:
                run.turns.append(obj["turn"])
            elif "analysis" in obj:
                run.analysis = obj["analysis"]
        return run

    def iter_all(self, agent_dirs: list[Path]) -> Iterator[RunHeader]:
        for d in agent_dirs:
            yield from self.headers(d)


def _obj(path: Path, line: str, n: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(path, n, 1, f"not a JSON line: {str(exc)[:80]}") from None
    if not isinstance(obj, dict):
        raise FileFormatError(path, n, 1, "expected a JSON object")
    return obj


def _summary(path: Path, line: str) -> list[SummaryRow]:
    rows = _obj(path, line, 2).get("summary")
    if not isinstance(rows, list):
        raise FileFormatError(path, 2, 1, "the second line must be the summary")
    out = []
    for r in rows:
        if not (isinstance(r, list) and len(r) == 4 and all(isinstance(x, str) for x in r)):
            raise FileFormatError(path, 2, 1, "a summary row is [test_id, name, type, statuses]")
        out.append(SummaryRow(*r))
    return out


def utc_iso(when: dt.datetime | None = None) -> str:
    when = when or dt.datetime.now(dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
