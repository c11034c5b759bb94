"""In-memory state of the emulator: agents with branches and versions (:mod:`.agents`), tests and
the run history (:mod:`.runs`), and a large, lazily simulated conversation history
(:mod:`.history`). Everything seeded is deterministic (``EmulatorConfig.seed``)."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
from dataclasses import dataclass
from typing import Any

from ..api.models import TranscriptTurn
from . import seed as S
from .agents import AgentRecord, Branch, Version, deep_merge  # noqa: F401  (re-exported)
from .brain import PersonaView, Simulation, ToolMock
from .faults import FaultBook
from .history import Conv, ConversationStore  # noqa: F401  (re-exported)
from .runs import Evaluator, Invocation, Target, TestRunRecord, make_runs  # noqa: F401  (re-exported)


@dataclass
class EmulatorConfig:
    seed: int = 7
    conversations: int = 2000
    latency_ms: int = 0  # added to every /v1/ request
    latency_jitter_ms: int = 0  # plus a uniform 0..J ms, from a seeded RNG
    stream_delay_ms: int = 120
    test_delay_ms: int = 1500
    api_key: str = S.DEMO_KEY
    open: bool = False  # accept any (or no) key
    legacy_simulate: bool = True  # serve simulate-conversation (+/stream)
    long_conversation_turns: int = 5000
    strict: bool = False  # 422 on any query parameter or body field the published API does not define
    drift: bool = False  # add data from a newer API: unknown enum values and fields (the "future" call)
    conversations_agent: str | None = None  # every seeded conversation on this agent
    max_concurrent: int = 0  # more /v1/ requests in flight than this answer 429 (0: no limit)
    retry_after_s: int = 1  # the Retry-After of those 429s

    def problems(self) -> list[str]:
        """What is wrong with this configuration (empty: fine)."""
        out = []
        if not 0 <= self.conversations <= 100_000:
            out.append("conversations must be between 0 and 100000")
        for name in ("latency_ms", "latency_jitter_ms", "stream_delay_ms", "test_delay_ms", "max_concurrent"):
            if getattr(self, name) < 0:
                out.append(f"{name} must not be negative")
        if self.retry_after_s < 0:
            out.append("retry_after_s must not be negative")
        if self.conversations_agent is not None and self.conversations_agent not in {a["agent_id"] for a in S.AGENTS}:
            out.append(f"conversations_agent {self.conversations_agent!r} is not a demo agent "
                       f"({', '.join(a['agent_id'] for a in S.AGENTS)})")
        return out


def encode_cursor(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


class BadCursor(ValueError):
    pass


def decode_cursor(cursor: str) -> Any:
    """The value a cursor encodes; :class:`BadCursor` for anything this server did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(str(exc)) from None


class EmulatorState:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        bad = self.config.problems()
        if bad:
            raise ValueError("; ".join(bad))
        self.lock = threading.RLock()
        attached = {a["agent_id"]: [{"test_id": t["id"]} for t in S.TESTS if t["agent"] == a["agent_id"]]
                    for a in S.AGENTS}
        self.agents: dict[str, AgentRecord] = {}
        for spec in S.AGENTS:
            spec = copy.deepcopy(spec)
            spec.setdefault("platform_settings", {})["testing"] = {"attached_tests": attached[spec["agent_id"]]}
            rec = AgentRecord(spec, S.MAIN_HISTORY.get(spec["agent_id"]))
            self.agents[rec.agent_id] = rec
        for b in S.BRANCHES:
            rec = self.agents[b["agent_id"]]
            when = S.SEED_NOW - b["created_days"] * S.DAY
            fork = rec.main.at(when) or rec.main.tip
            br = Branch(rec.agent_id, b["id"], b["name"], b["description"], when, rec.main_branch_id)
            cfg = copy.deepcopy(fork.conversation_config)
            cfg["agent"]["prompt"]["prompt"] += b["prompt_append"]
            rec.index(br.commit(cfg, copy.deepcopy(fork.platform_settings), b["description"], when,
                                out_of_branch_parent_id=fork.id))
            rec.branches[br.id] = br
            start, until, pct = b["traffic"]
            rec.deployments.append((S.SEED_NOW - start * S.DAY, S.SEED_NOW - until * S.DAY, {br.id: pct}))
        self.tests: dict[str, dict[str, Any]] = {}
        for i, t in enumerate(S.TESTS):
            body = {k: v for k, v in t.items() if k != "agent"}
            body["created_at_unix_secs"] = S.SEED_NOW - (60 - i) * S.DAY
            body["last_updated_at_unix_secs"] = body["created_at_unix_secs"]
            self.tests[t["id"]] = body
        self.test_agent = {t["id"]: t["agent"] for t in S.TESTS}
        self.evaluator = Evaluator()
        self.invocations: dict[str, Invocation] = {}  # in creation order: the run history
        self._seed_run_history()
        self.faults = FaultBook(self.config.seed)
        self._spec: Any = None
        self.history = ConversationStore(self.agents, seed=self.config.seed, n=self.config.conversations,
                                         long_turns=self.config.long_conversation_turns, drift=self.config.drift,
                                         only_agent=self.config.conversations_agent)

    # the conversation history, under the names the tests (and older code) use
    @property
    def convs(self) -> list[Conv]:
        return self.history.convs

    @property
    def conv_by_id(self) -> dict[str, Conv]:
        return self.history.conv_by_id

    @property
    def by_agent(self) -> dict[str, list[Conv]]:
        return self.history.by_agent

    def transcript(self, c: Conv) -> list[TranscriptTurn]:
        return self.history.transcript(c)

    def warm(self, per_agent: int = 100) -> None:
        """Simulate the calls of each agent's first pages now (the 5,000-turn one among them), so the
        first page a client asks for is as fast as the rest; everything older stays lazy."""
        for convs in self.by_agent.values():
            for c in convs[:per_agent]:
                self.history.summary(c)

    # ------------------------------------------------------------------ checks
    @property
    def spec(self) -> Any:
        """The published document as a checker (strict mode; imports jsonschema on first use)."""
        if self._spec is None:
            from .openapi import SpecChecker

            self._spec = SpecChecker()
        return self._spec

    def check_config(self, config: dict[str, Any], settings: dict[str, Any], loc: list[Any]) -> None:
        """422 unless an agent config can be served (strict mode: and the document's schemas accept it)."""
        from .configcheck import check_config

        strict = None
        if self.config.strict:
            def strict(value: Any, name: str) -> list[str]:
                return self.spec.schema_errors(value, {"$ref": f"#/components/schemas/{name}"}, limit=3)
        check_config(config, settings, loc, strict=strict)

    # ------------------------------------------------------------------ run history
    def _seed_run_history(self) -> None:
        from .brain import h

        for agent_id, days, branch_id, test_ids, repeat, title in S.INVOCATION_HISTORY:
            rec = self.agents[agent_id]
            when = int(S.SEED_NOW - days * S.DAY)
            br = rec.branch(branch_id) or rec.main
            version = br.at(when) or br.tip
            ids = test_ids or [t["id"] for t in S.TESTS if t["agent"] == agent_id]
            inv = Invocation(f"inv_{h(agent_id, days, title):016x}", agent_id, Target(rec, version),
                             when, repeat, ids, title)
            inv.materialize = lambda inv: make_runs(inv, self.tests, self.evaluator, delay_s=-1,
                                                    deterministic=True)
            self.invocations[inv.id] = inv

    def invocations_of(self, agent_id: str | None) -> list[Invocation]:
        """The run history, newest first."""
        out = [i for i in self.invocations.values() if agent_id is None or i.agent_id == agent_id]
        out.sort(key=lambda i: -i.created_at)
        return out

    # ------------------------------------------------------------------ simulation helpers
    def run_simulation(self, rec: AgentRecord, spec: dict[str, Any], extra: list[dict[str, Any]] | None,
                       limit: int | None, branch_id: str | None = None,
                       override: dict[str, Any] | None = None) -> Simulation:
        suc = spec.get("simulated_user_config") or {}
        persona_prompt = ((suc.get("prompt") or {}).get("prompt")) or ""
        persona = PersonaView(prompt=persona_prompt, first_message=suc.get("first_message"),
                              language=suc.get("language"))
        mocks = rec.tool_mocks(branch_id)
        for name, m in (spec.get("tool_mock_config") or {}).items():
            m = m or {}
            mocks[name] = ToolMock(m.get("default_return_value", "Tool Called."), bool(m.get("default_is_error")))
        history = [TranscriptTurn.model_validate(t) for t in spec.get("partial_conversation_history") or []]
        return Simulation(rec.view(branch_id, {"conversation_config": override} if override else None), persona,
                          tool_mocks=mocks, history=history, turns_limit=limit or 10000)
