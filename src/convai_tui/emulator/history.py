"""The seeded conversation history: up to 100,000 calls, each served by a version of its agent.

A call's transcript and analysis come from the brain running the config of the **version that
served it** (the one live on its branch at its start time; while a deployment split was live, a
share of the calls went to the branch), so success rates and evaluation results differ per
version. Calls with the same inputs (agent version, caller persona, language, where the call was
cut) share one :class:`Profile`, simulated the first time anyone looks at it: start-up only draws
the calls, it simulates nothing.
"""

from __future__ import annotations

import bisect
import random
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..api.models import ToolCall, TranscriptTurn
from . import seed as S
from .agents import AgentRecord, Version, tool_mocks_of
from .brain import PersonaView, Simulation, analyse, h

TITLES = {"booking": "Appointment booking", "cancel": "Cancellation", "price": "Price enquiry",
          "complaint": "Complaint", "hours": "Opening hours", "question": "General question"}
TITLES_RO = {"booking": "Programare", "cancel": "Anulare programare", "price": "Întrebare despre preț",
             "complaint": "Reclamație", "hours": "Program de lucru", "question": "Întrebare generală"}
ENDED = "end_call tool was called."
CUT = "Client disconnected"
COMMENTS = ["Took too long to get an answer.", "Could not book the time I wanted.", "Kept repeating itself.",
            "Great, quick and friendly!", "Solved it in one call."]


class Profile:
    """One distinct simulated call, shared by every seeded conversation with the same inputs."""

    __slots__ = ("rec", "version", "persona", "lang", "cut", "special", "_tr", "_ended", "_an", "_text",
                 "_tools", "_tools_err", "_sentiment")

    def __init__(self, rec: AgentRecord, version: Version, persona: int, lang: str, cut: int,
                 special: str | None) -> None:
        self.rec, self.version, self.persona, self.lang, self.cut, self.special = (
            rec, version, persona, lang, cut, special)
        self._tr: list[TranscriptTurn] | None = None
        self._an: dict[str, Any] | None = None
        self._ended = False
        self._text: str | None = None
        self._tools: set[str] | None = None
        self._tools_err: set[str] | None = None
        self._sentiment: dict[str, Any] | None = None

    def persona_view(self) -> PersonaView:
        if self.special == "markup":
            return PersonaView(prompt=S.MARKUP_MESSAGE, first_message=S.MARKUP_MESSAGE)
        if self.special == "future":
            return PersonaView(prompt="", first_message=S.HUGE_MESSAGE)
        personas = S.PERSONAS_RO if self.lang == "ro" else S.PERSONAS_EN
        return PersonaView(prompt=personas[self.persona % len(personas)], language=self.lang)

    def transcript(self, long_turns: int = 5000) -> list[TranscriptTurn]:
        if self._tr is None:
            limit = long_turns if self.special == "long" else (self.cut or 60)
            sim = Simulation(self.version.view(self.rec.name), self.persona_view(),
                             tool_mocks=tool_mocks_of(self.version.conversation_config), turns_limit=limit)
            tr = list(sim.turns())
            if self.special == "future":
                tr.insert(2, TranscriptTurn.model_validate({
                    "role": "supervisor", "message": "(a supervisor joined the call)", "time_in_call_secs": 9,
                    "emotion": "calm", "source_medium": "hologram",
                    "tool_calls": [ToolCall(request_id="req_q", tool_name="teleport", params_as_json="{}",
                                            tool_has_been_called=True, type="quantum").to_wire()]}))
            self._ended = sim.ended_naturally
            self._tr = tr
        return self._tr

    def analysis(self) -> dict[str, Any]:
        if self._an is None:
            tr = self.transcript()
            res = analyse(self.version.view(self.rec.name), tr, ended_naturally=self._ended)
            if self.lang == "ro":
                intent = next((k for k, v in TITLES.items() if v == res.call_summary_title), "question")
                res.call_summary_title = TITLES_RO[intent]
            self._an = res.to_wire()
        return self._an

    @property
    def duration(self) -> int:
        tr = self.transcript()
        return tr[-1].time_in_call_secs if tr else 0

    @property
    def success(self) -> str:
        return self.analysis()["call_successful"]

    def tool_names(self) -> set[str]:
        if self._tools is None:
            tr = self.transcript()
            self._tools = {tc.tool_name for t in tr if t.tool_calls for tc in t.tool_calls}
            self._tools_err = {r.tool_name for t in tr if t.tool_results for r in t.tool_results if r.is_error}
        return self._tools

    def tool_names_errored(self) -> set[str]:
        self.tool_names()
        return self._tools_err or set()

    def search_text(self) -> str:
        if self._text is None:
            an = self.analysis()
            self._text = " ".join([an.get("call_summary_title") or "", an.get("transcript_summary") or "",
                                   *(t.message or "" for t in self.transcript())]).lower()
        return self._text

    def sentiment(self) -> dict[str, Any]:
        """``ConversationSentimentAnalysis`` of the caller's turns (a deterministic estimate)."""
        if self._sentiment is None:
            users = [t.message or "" for t in self.transcript() if t.role == "user"]
            angry = sum(1 for m in users if re.search(r"(?i)not good enough|forever|angry|broken|ridiculous|nervos",
                                                      m))
            ok = self.success == "success"
            jitter = (h(self.version.id, self.persona, self.cut) % 21 - 10) / 100
            score = max(-1.0, min(1.0, (0.45 if ok else -0.25) - 0.3 * angry + jitter))
            frustration = max(0.0, min(1.0, 0.15 + 0.3 * angry + (0 if ok else 0.2) - jitter / 2))
            self._sentiment = {
                "overall_label": "positive" if score > 0.2 else ("negative" if score < -0.2 else "neutral"),
                "overall_sentiment_score": round(score, 2), "overall_frustration_score": round(frustration, 2),
                "min_user_sentiment_score": round(max(-1.0, score - 0.2), 2),
                "max_user_frustration_score": round(min(1.0, frustration + 0.15), 2),
                "num_scored_user_turns": len(users),
            }
        return self._sentiment


class Conv:
    """One seeded (or deleted) conversation: what differs per call, plus its shared :class:`Profile`."""

    __slots__ = ("id", "agent_id", "start", "status", "persona", "lang", "rating", "feedback", "direction", "cut",
                 "deleted", "special", "key", "branch_id", "version_id", "prof", "comment", "analysis_override",
                 "_success")

    def __init__(self, id: str, agent_id: str, start: int, status: str, persona: int, lang: str,
                 rating: float | None, feedback: str | None, direction: str, cut: int, special: str | None = None,
                 ) -> None:
        self.id, self.agent_id, self.start, self.status, self.persona, self.lang = (
            id, agent_id, start, status, persona, lang)
        self.rating, self.feedback, self.direction, self.cut, self.special = rating, feedback, direction, cut, special
        self.deleted = False
        self.key = (-start, id)
        self.branch_id = ""
        self.version_id = ""
        self.prof: Profile | None = None
        self.comment: str | None = None
        self.analysis_override: dict[str, Any] | None = None
        self._success: str | None = None

    @property
    def duration(self) -> int:
        assert self.prof is not None
        return self.prof.duration

    @property
    def success(self) -> str:
        if self._success is not None:
            return self._success
        if self.analysis_override is not None:
            return self.analysis_override["call_successful"]
        if self.status != "done":
            return "unknown"
        assert self.prof is not None
        return self.prof.success

    @success.setter
    def success(self, value: str) -> None:
        self._success = value

    @property
    def termination_reason(self) -> str:
        return CUT if self.cut else ENDED


class BadFilter(ValueError):
    """A filter value the API would reject (``loc`` names the query parameter)."""

    def __init__(self, param: str, msg: str) -> None:
        super().__init__(msg)
        self.param = param


@dataclass
class ConvFilter:
    """The ``GET /v1/convai/conversations`` (and text-search) filters, as the published API names them."""

    agent_id: str | None = None
    branch_id: str | None = None
    version_id: str | None = None
    call_successful: str | None = None
    call_start_before_unix: int | None = None
    call_start_after_unix: int | None = None
    call_duration_min_secs: int | None = None
    call_duration_max_secs: int | None = None
    rating_min: int | None = None
    rating_max: int | None = None
    has_feedback_comment: bool | None = None
    user_id: str | None = None
    evaluation_params: list[str] | None = None
    data_collection_params: list[str] | None = None
    dynamic_variable_params: list[str] | None = None
    tool_names: list[str] | None = None
    tool_names_successful: list[str] | None = None
    tool_names_errored: list[str] | None = None
    main_languages: list[str] | None = None
    search: str | None = None
    conversation_initiation_source: str | None = None
    text_only: bool | None = None
    conversation_product_type: str | None = None
    parent_conversation_id: str | None = None
    topic_ids: list[str] | None = None
    exclude_statuses: list[str] | None = None
    tag_ids: list[str] | None = None
    workflow_node_entered_id: str | None = None
    termination_reasons: list[str] | None = None
    guardrail_types: list[str] | None = None
    custom_guardrail_names: list[str] | None = None
    visited_agent_ids: list[str] | None = None
    visited_agent_branch_ids: list[str] | None = None
    triggered_procedure_ids: list[str] | None = None

    def compile(self) -> Callable[[Conv], bool] | None:
        """A predicate (None: every conversation matches). Raises :class:`BadFilter`."""
        tests: list[Callable[[Conv], bool]] = []
        add = tests.append
        if self.branch_id:
            add(lambda c, v=self.branch_id: c.branch_id == v)
        if self.version_id:
            add(lambda c, v=self.version_id: c.version_id == v)
        if self.visited_agent_ids:
            add(lambda c, v=set(self.visited_agent_ids): c.agent_id in v)
        if self.visited_agent_branch_ids:
            add(lambda c, v=set(self.visited_agent_branch_ids): c.branch_id in v)
        if self.call_start_before_unix is not None:
            add(lambda c, v=self.call_start_before_unix: c.start < v)
        if self.call_start_after_unix is not None:
            add(lambda c, v=self.call_start_after_unix: c.start > v)
        if self.main_languages:
            add(lambda c, v=set(self.main_languages): c.lang in v)
        if self.exclude_statuses:
            add(lambda c, v=set(self.exclude_statuses): c.status not in v)
        if self.termination_reasons:
            add(lambda c, v=set(self.termination_reasons): c.termination_reason in v)
        if self.rating_min is not None:
            add(lambda c, v=self.rating_min: c.rating is not None and c.rating >= v)
        if self.rating_max is not None:
            add(lambda c, v=self.rating_max: c.rating is not None and c.rating <= v)
        if self.has_feedback_comment is not None:
            add(lambda c, v=self.has_feedback_comment: (c.comment is not None) == v)
        if self.text_only:
            add(lambda c: False)  # every seeded call is a voice call
        if self.conversation_product_type is not None:
            add(lambda c, v=self.conversation_product_type: v == "agents")
        if self.conversation_initiation_source is not None:
            add(lambda c, v=self.conversation_initiation_source: v == "unknown")
        # Things no seeded call has: a user id, tags, topics, a parent, workflow nodes, guardrails,
        # procedures, dynamic variables. Filtering on them finds nothing, as it would on the real API.
        for value in (self.user_id, self.parent_conversation_id, self.workflow_node_entered_id, self.topic_ids,
                      self.tag_ids, self.guardrail_types, self.custom_guardrail_names, self.triggered_procedure_ids,
                      self.dynamic_variable_params):
            if value:
                add(lambda c: False)
                break
        # the ones that need the simulated call (its profile is simulated once, then shared)
        if self.call_successful:
            add(lambda c, v=self.call_successful: c.success == v)
        if self.call_duration_min_secs is not None:
            add(lambda c, v=self.call_duration_min_secs: c.duration >= v)
        if self.call_duration_max_secs is not None:
            add(lambda c, v=self.call_duration_max_secs: c.duration <= v)
        if self.tool_names:
            add(lambda c, v=set(self.tool_names): bool(_prof(c).tool_names() & v))
        if self.tool_names_successful:
            add(lambda c, v=set(self.tool_names_successful):
                bool((_prof(c).tool_names() - _prof(c).tool_names_errored()) & v))
        if self.tool_names_errored:
            add(lambda c, v=set(self.tool_names_errored): bool(_prof(c).tool_names_errored() & v))
        for raw in self.evaluation_params or []:
            cid, sep, want = raw.partition(":")
            if not sep or not cid or want not in ("success", "failure", "unknown"):
                raise BadFilter("evaluation_params", f"{raw!r}: expected criteria_id:result "
                                                     "(result: success, failure or unknown).")
            add(lambda c, cid=cid, want=want:
                (conv_analysis(c) or {}).get("evaluation_criteria_results", {}).get(cid, {}).get("result") == want)
        for raw in self.data_collection_params or []:
            add(_data_collection_test(raw))
        if self.search:
            words = self.search.lower()
            add(lambda c, v=words: v in _prof(c).search_text() or v in c.id)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda c: all(t(c) for t in tests)


def _prof(c: Conv) -> Profile:
    assert c.prof is not None
    return c.prof


def conv_analysis(c: Conv) -> dict[str, Any] | None:
    if c.analysis_override is not None:
        return c.analysis_override
    if c.status != "done" or c.prof is None:
        return None
    return c.prof.analysis()


def _data_collection_test(raw: str) -> Callable[[Conv], bool]:
    parts = raw.split(":", 2)
    if len(parts) < 2 or parts[1] not in ("eq", "gt", "gte", "lt", "lte", "missing") or \
            (parts[1] != "missing" and len(parts) != 3):
        raise BadFilter("data_collection_params", f"{raw!r}: expected id:op:value with op one of "
                                                  "eq, gt, gte, lt, lte, missing.")
    did, op = parts[0], parts[1]
    want = parts[2] if len(parts) == 3 else ""

    def test(c: Conv) -> bool:
        res = ((conv_analysis(c) or {}).get("data_collection_results") or {}).get(did) or {}
        val = res.get("value")
        if op == "missing":
            return val is None
        if val is None:
            return False
        if op == "eq":
            return str(val).lower() == want.lower()
        try:
            a, b = float(val), float(want)
        except (TypeError, ValueError):
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]

    return test


class ConversationStore:
    def __init__(self, agents: dict[str, AgentRecord], *, seed: int, n: int, long_turns: int = 5000,
                 drift: bool = False, only_agent: str | None = None) -> None:
        self.agents = agents
        self.long_turns = long_turns
        self.profiles: dict[tuple[Any, ...], Profile] = {}
        self.convs = self._build(seed, n, drift, only_agent)
        self.conv_by_id = {c.id: c for c in self.convs}
        self.keys = [c.key for c in self.convs]
        self.by_agent: dict[str, list[Conv]] = {}
        for c in self.convs:
            self.by_agent.setdefault(c.agent_id, []).append(c)
        self.agent_keys = {k: [c.key for c in v] for k, v in self.by_agent.items()}
        for aid, lst in self.by_agent.items():
            self.agents[aid].last_call = lst[0].start

    # ------------------------------------------------------------------ seeding
    def _build(self, seed: int, n: int, drift: bool, only_agent: str | None) -> list[Conv]:
        rnd = random.Random(seed)
        rnd2 = random.Random(seed * 7919 + 17)  # branch splits and comments: the main draws stay as they were
        specs = list(S.AGENTS)
        weights = [a["weight"] for a in specs]
        span = 120 * S.DAY
        timelines = {aid: ([v.time_committed_secs for v in rec.main.versions], rec.main.versions)
                     for aid, rec in self.agents.items()}
        convs: list[Conv] = []
        append = convs.append
        for i in range(n):
            a = rnd.choices(specs, weights)[0]
            ro = a["conversation_config"]["agent"]["language"] == "ro"
            choices = (range(len(S.PERSONAS_RO)) if ro
                       else S.AGENT_PERSONAS.get(a["agent_id"], range(len(S.PERSONAS_EN))))
            persona = rnd.choice(choices)
            start = S.SEED_NOW - int(span * (i + rnd.random()) / max(n, 1))
            r = rnd.random()
            status = "done" if r < 0.93 else ("failed" if r < 0.97 else ("processing" if r < 0.99 else "in-progress"))
            cut = rnd.random() < 0.12 or status != "done"
            rating = None
            rr = rnd.random()
            if rr < 0.25:
                rating = float(rnd.choice([1, 2, 3, 4, 5, 5, 4]))
            fb = None
            if rr < 0.08:
                fb = "like" if rating and rating >= 4 else "dislike"
            cid = f"conv_{h(seed, i) % 16**20:020x}"
            direction = "inbound" if rnd.random() < 0.8 else "outbound"
            c = Conv(cid, only_agent or a["agent_id"], start, status, persona, "ro" if ro else "en", rating, fb,
                     direction, rnd.randrange(2, 6) if cut else 0)
            if rating is not None and rnd2.random() < 0.3:
                c.comment = COMMENTS[int(rating) - 1 if rating <= 3 else 3 + int(rating) % 2]
            self._assign(c, timelines, rnd2)
            append(c)
        if n:
            # Special conversations, newest of their agents: literal markup and a long call.
            self._special(convs, "conv_markup_and_escapes", only_agent or "agent_dental_bella", S.SEED_NOW + 60,
                          "markup", persona=7)
            self._special(convs, "conv_long_call", only_agent or "agent_acme_support", S.SEED_NOW - 3 * S.DAY + 7,
                          "long", persona=9)
            if drift:
                c = self._special(convs, "conv_unknown_values", only_agent or "agent_dental_bella",
                                  S.SEED_NOW - S.DAY + 11, "future", persona=7)
                c.status, c.direction = "escalated-to-human", "sideways"
                c.success = "partially"  # an enum value no client knows
        convs.sort(key=lambda c: c.key)
        return convs

    def _special(self, convs: list[Conv], cid: str, agent_id: str, start: int, special: str, persona: int) -> Conv:
        rec = self.agents[agent_id]
        c = Conv(cid, agent_id, start, "done", persona, "en", None, None, "inbound", 0, special)
        v = rec.main.at(start) or rec.main.tip
        c.branch_id, c.version_id = v.branch_id, v.id
        c.prof = self._profile(rec, v, persona, c.lang, 0, special)
        convs.append(c)
        return c

    def _assign(self, c: Conv, timelines: dict[str, Any], rnd2: random.Random) -> None:
        """The branch and version that served ``c`` (live at its start), and its shared profile."""
        rec = self.agents[c.agent_id]
        version: Version | None = None
        split = rec.split_at(c.start) if rec.deployments else None
        if split:
            draw = rnd2.random() * 100
            acc = 0.0
            for bid, pct in split.items():
                acc += pct
                if draw < acc and (b := rec.branches.get(bid)) is not None:
                    version = b.at(c.start)
                    break
        if version is None:
            times, versions = timelines[c.agent_id]
            i = bisect.bisect_right(times, c.start)
            version = versions[max(0, i - 1)]
        c.branch_id, c.version_id = version.branch_id, version.id
        c.prof = self._profile(rec, version, c.persona, c.lang, c.cut, None)

    def _profile(self, rec: AgentRecord, v: Version, persona: int, lang: str, cut: int,
                 special: str | None) -> Profile:
        key = (rec.agent_id, v.id, persona, lang, cut, special)
        p = self.profiles.get(key)
        if p is None:
            p = self.profiles[key] = Profile(rec, v, persona, lang, cut, special)
        return p

    # ------------------------------------------------------------------ JSON
    def transcript(self, c: Conv) -> list[TranscriptTurn]:
        return _prof(c).transcript(self.long_turns)

    def summary(self, c: Conv, *, with_summary: bool = False, eval_ids: Iterable[str] = (),
                data_ids: Iterable[str] = ()) -> dict[str, Any]:
        """``ConversationSummaryResponseModel``."""
        tr = self.transcript(c)
        an = conv_analysis(c)
        out: dict[str, Any] = {
            "agent_id": c.agent_id, "branch_id": c.branch_id, "version_id": c.version_id,
            "agent_name": self.agents[c.agent_id].name, "conversation_id": c.id,
            "start_time_unix_secs": c.start, "call_duration_secs": c.duration, "message_count": len(tr),
            "status": c.status, "termination_reason": c.termination_reason, "call_successful": c.success,
            "call_summary_title": (an or _prof(c).analysis()).get("call_summary_title"),
            "main_language": c.lang, "tool_names": sorted(_prof(c).tool_names()), "direction": c.direction,
            "rating": c.rating, "tag_ids": [],
        }
        if with_summary:
            out["transcript_summary"] = (an or _prof(c).analysis()).get("transcript_summary")
        if c.special == "future":
            out["sentiment_analysis"] = {"overall": "mixed", "score": 0.1}
            out["experimental_flags"] = ["x"]
        elif c.status == "done" and not c.special:
            out["sentiment_analysis"] = _prof(c).sentiment()
        eval_ids, data_ids = list(eval_ids), list(data_ids)
        if eval_ids:
            results = (an or {}).get("evaluation_criteria_results") or {}
            out["evaluation_criteria_results"] = {k: {"result": results[k]["result"]} for k in eval_ids
                                                  if k in results}
        if data_ids:
            results = (an or {}).get("data_collection_results") or {}
            out["data_collection_results"] = {k: results[k] for k in data_ids if k in results}
        return out

    def detail(self, c: Conv) -> dict[str, Any]:
        """``GetConversationResponseModel``."""
        tr = self.transcript(c)
        an = conv_analysis(c)
        rec = self.agents[c.agent_id]
        metadata: dict[str, Any] = {
            "start_time_unix_secs": c.start, "call_duration_secs": c.duration,
            "cost_fiat": round(c.duration / 60 * 0.08, 4) if c.status == "done" else None,
            "feedback": {"type": "rating" if c.rating is not None else ("thumbs" if c.feedback else None),
                         "overall_score": c.feedback, "likes": int(c.feedback == "like"),
                         "dislikes": int(c.feedback == "dislike"),
                         "rating": int(c.rating) if c.rating is not None else None, "comment": c.comment},
            "termination_reason": c.termination_reason, "main_language": c.lang, "text_only": False,
        }
        out: dict[str, Any] = {
            "agent_id": c.agent_id, "agent_name": rec.name, "status": c.status, "branch_id": c.branch_id,
            "version_id": c.version_id, "metadata": metadata, "analysis": an, "conversation_id": c.id,
            "has_audio": False, "has_user_audio": False, "has_response_audio": False, "has_auxiliary_audio": False,
            "transcript": [t.to_wire() for t in tr], "tag_ids": [],
        }
        if c.special == "future":  # fields and values from a newer API version
            del metadata["cost_fiat"]
            out.update({"conversation_product": "hologram",
                        "visited_agents": [{"agent_id": "x", "mood": "curious"}],
                        "transcript_extra": {"reasoning_tokens": 123}})
        return out

    # ------------------------------------------------------------------ listing
    def list(self, *, agent_id: str | None, after: tuple[int, str] | None, page_size: int,
             match: Callable[[Conv], bool] | None, ascending: bool = False, start_before: int | None = None,
             start_after: int | None = None) -> tuple[list[Conv], tuple[int, str] | None]:
        """A page after the ``after`` key, newest first (or oldest first), and the key to continue from.
        ``start_before``/``start_after`` (the time filters, also in ``match``) bound the scan as an index
        on the start time would: only calls inside them are looked at."""
        lst = self.by_agent.get(agent_id, []) if agent_id else self.convs
        keys = self.agent_keys.get(agent_id, []) if agent_id else self.keys
        # keys are (-start, id), ascending: calls with start < B begin at the first -start >= -B + 1;
        # calls with start > A end before the first -start >= -A
        lo = 0 if start_before is None else bisect.bisect_left(keys, -start_before + 1, key=lambda k: k[0])
        hi = len(lst) if start_after is None else bisect.bisect_left(keys, -start_after, key=lambda k: k[0])
        if ascending:
            pos = hi - 1 if after is None else min(hi, bisect.bisect_left(keys, after)) - 1
            idx: Iterable[int] = range(pos, lo - 1, -1)
        else:
            pos = lo if after is None else max(lo, bisect.bisect_right(keys, after))
            idx = range(pos, hi)
        out: list[Conv] = []
        more = False
        for i in idx:
            c = lst[i]
            if c.deleted or (match is not None and not match(c)):
                continue
            if len(out) == page_size:
                more = True
                break
            out.append(c)
        return out, (out[-1].key if out and more else None)

    def search_messages(self, *, text: str, agent_id: str | None, pos: tuple[int, int], page_size: int,
                        match: Callable[[Conv], bool] | None,
                        by_date: bool = False) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
        lst = self.by_agent.get(agent_id, []) if agent_id else self.convs
        ci, ti = pos
        words = [w for w in re.findall(r"\w+", text.lower()) if w]
        out: list[dict[str, Any]] = []
        for i in range(max(0, ci), len(lst)):
            c = lst[i]
            if c.deleted or (match is not None and not match(c)):
                continue
            tr = self.transcript(c)
            for j in range(ti if i == ci else 0, len(tr)):
                low = (tr[j].message or "").lower()
                if words and all(w in low for w in words):
                    if len(out) == page_size:
                        return out, (i, j)
                    score = sum(low.count(w) for w in words) / (1 + len(low) / 100)
                    out.append({"conversation_id": c.id, "agent_id": c.agent_id,
                                "agent_name": self.agents[c.agent_id].name, "transcript_index": j,
                                "chunk_text": tr[j].message or "", "score": round(score, 4),
                                "conversation_start_time_unix_secs": c.start})
        return out, None

    def calls_since(self, agent_id: str, since: int) -> dict[str, int]:
        """Calls per branch of an agent since ``since``."""
        out: dict[str, int] = {}
        for c in self.by_agent.get(agent_id, []):
            if c.start < since:
                break
            if not c.deleted:
                out[c.branch_id] = out.get(c.branch_id, 0) + 1
        return out
