"""A deterministic, prompt-sensitive stand-in for the LLMs behind the ConvAI API.

No randomness from the clock: every choice is a hash of the inputs (prompt, persona,
turn number), so the same request always gives the same conversation, and editing the
system prompt changes what the agent says and how tests are judged. The rules are
documented in the README ("The emulator's brain"); in short:

* The **agent** follows traits read from its system prompt (``confirm``, ``polite``,
  ``concise``, ``ask ... name``, ``never ... price``, ``transfer``/``human``, ``rude``),
  speaks its configured language (``en`` or ``ro``; others fall back to English),
  opens with its first message, cites its knowledge base and calls its tools (answered
  by the tool mocks: ``default_return_value`` / ``default_is_error``).
* The **simulated user** follows its persona prompt: the intent (booking, cancel, price,
  complaint, hours, question), a time slot if one is named, a name if one is given,
  ``difficult``/``angry`` pushes back once, ``keep asking``/``never hang up`` keeps the
  call going until ``new_turns_limit``.
* The **judge** reads a criterion or success condition for concepts (confirm, polite,
  name, booking, price, no-price, transfer, Romanian, greeting, goodbye, tool) and checks
  the transcript for evidence; with no known concept it falls back to word overlap.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..api.models import (
    ConversationAnalysis,
    DataCollectionResult,
    EvaluationCriteriaResult,
    ToolCall,
    ToolResult,
    TranscriptTurn,
)

# --------------------------------------------------------------------------- helpers


def h(*parts: Any) -> int:
    d = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(d, "big")


def pick(options: list[str] | tuple[str, ...], *seed: Any) -> str:
    return options[h(*seed) % len(options)]


_SLOT_RE = re.compile(
    r"\b((?:mon|tues|wednes|thurs|fri|satur|sun)day|luni|marți|marti|miercuri|joi|vineri|sâmbătă|sambata)"
    r"(?:\s+(?:at|la ora|la|ora)\s*)?\s*(\d{1,2}(?::\d{2})?\s*(?:am|pm)?)?",
    re.I,
)
_TIME_RE = re.compile(r"\b(\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})\b", re.I)
_NAME_RE = re.compile(r"\b(?:my name is|i am|i'm|numele meu este|mă numesc|ma numesc)\s+([A-ZĂÂÎȘȚ][\w\-ăâîșț]+)", re.I)
_PRICE_RE = re.compile(r"(\d+\s*(?:€|eur|euro|lei|ron|\$|usd|dollars))|([€$]\s*\d+)", re.I)

SLOTS = ["Tuesday at 3 PM", "Monday at 10 AM", "Thursday at 4:30 PM", "Friday at 9 AM", "Wednesday at 11 AM"]
SLOTS_RO = ["marți la ora 15:00", "luni la ora 10:00", "joi la ora 16:30", "vineri la ora 9:00"]
NAMES = ["Maria", "John", "Andrei", "Priya", "Elena", "Tom", "Ioana", "Chen", "Sofia", "Mihai"]

INTENT_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("cancel", ("cancel", "anula", "anulez", "reschedul")),
    ("complaint", ("complain", "refund", "charged", "money back", "not happy", "angry", "furious", "broken", "reclama", "nemulțumit", "late", "damaged")),
    ("price", ("price", "cost", "how much", "preț", "pret", "cât costă", "tarif")),
    ("booking", ("book", "appointment", "reservation", "schedule", "programare", "programez", "consult")),
    ("hours", ("open", "hours", "closing", "orar", "program de lucru", "deschis")),
]

STOPWORDS = set(
    "the a an and or to of in on at for with is are was were be been by that this it its as from "
    "agent user caller customer should must will would can could does did do has have had not no "
    "their they them his her he she you your yours our we us me my mine i when then than also "
    "any all each every some into about over under after before while during which who whom what "
    "conversation call response reply replies".split()
)


def content_words(text: str) -> list[str]:
    words = re.findall(r"[\wăâîșțşţ]+", text.lower())
    return [w for w in words if len(w) > 3 and w not in STOPWORDS]


def stem(w: str) -> str:
    return w[:5]


# --------------------------------------------------------------------------- views


@dataclass
class AgentView:
    """What the brain needs to know about an agent (read from its config dict)."""

    agent_id: str = "agent"
    name: str = "Agent"
    prompt: str = ""
    first_message: str = ""
    language: str = "en"
    llm: str = "gpt-4o-mini"
    temperature: float = 0.5
    tools: list[str] = field(default_factory=list)
    knowledge_base: list[str] = field(default_factory=list)
    criteria: list[dict[str, Any]] = field(default_factory=list)
    data_collection: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, agent_id: str, name: str, config: dict[str, Any],
                    platform_settings: dict[str, Any] | None = None) -> "AgentView":
        agent = (config or {}).get("agent") or {}
        prompt = agent.get("prompt") or {}
        tools = [t["name"] for t in prompt.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
        tools += [tid for tid in prompt.get("tool_ids") or [] if tid not in tools]
        kb = [k.get("name") or k.get("id", "") for k in prompt.get("knowledge_base") or [] if isinstance(k, dict)]
        ps = platform_settings or {}
        ev = ps.get("evaluation") or {}
        return cls(
            agent_id=agent_id,
            name=name,
            prompt=prompt.get("prompt") or "",
            first_message=agent.get("first_message") or "",
            language=(agent.get("language") or "en").lower(),
            llm=prompt.get("llm") or "gpt-4o-mini",
            temperature=float(prompt.get("temperature") if prompt.get("temperature") is not None else 0.5),
            tools=[t for t in tools if t],
            knowledge_base=[k for k in kb if k],
            criteria=list(ev.get("criteria") or []),
            data_collection=dict((ps.get("data_collection") or {})),
        )

    # traits read from the prompt -------------------------------------------------
    @property
    def _p(self) -> str:
        return self.prompt.lower()

    @property
    def confirms(self) -> bool:
        return "confirm" in self._p or "confirmă" in self._p or "confirma" in self._p

    @property
    def polite(self) -> bool:
        return any(w in self._p for w in ("polite", "friendly", "warm", "empath", "courteous", "politicos", "amabil"))

    @property
    def rude(self) -> bool:
        return bool(re.search(r"\b(rude|curt|dismissive|unhelpful)\b", self._p))

    @property
    def concise(self) -> bool:
        return any(w in self._p for w in ("concise", "brief", "short answers", "succint", "scurt"))

    @property
    def asks_name(self) -> bool:
        return bool(re.search(r"\b(ask|get|collect|request|cere|întreabă)\b[^.\n]{0,40}\b(name|numele)", self._p))

    @property
    def no_price(self) -> bool:
        return bool(re.search(r"\b(never|do not|don't|not)\b[^.\n]{0,30}\b(price|prices|pricing|cost|preț|prețuri)", self._p))

    @property
    def escalates(self) -> bool:
        return any(w in self._p for w in ("transfer", "escalat", "human", "colleague", "operator", "coleg"))

    @property
    def lang(self) -> str:
        if self.language.startswith("ro") or "in romanian" in self._p or "în română" in self._p:
            return "ro"
        return "en"

    def tool_for(self, intent: str) -> str | None:
        keys = {
            "booking": ("book", "appointment", "programare", "schedule", "reserve"),
            "cancel": ("cancel", "anulare"),
            "complaint": ("refund", "lookup_order", "order", "ticket"),
            "price": ("price", "quote"),
        }.get(intent, ())
        for t in self.tools:
            tl = t.lower()
            if any(k in tl for k in keys):
                return t
        return None

    def availability_tool(self) -> str | None:
        for t in self.tools:
            if "avail" in t.lower() or "disponib" in t.lower():
                return t
        return None


@dataclass
class PersonaView:
    prompt: str = ""
    first_message: str | None = None
    language: str | None = None

    @property
    def _p(self) -> str:
        return (self.prompt + " " + (self.first_message or "")).lower()

    @property
    def intent(self) -> str:
        return detect_intent(self._p) or "question"

    @property
    def difficult(self) -> bool:
        return any(w in self._p for w in ("difficult", "angry", "rude", "impatient", "furious", "sceptic", "skeptic", "nervos"))

    @property
    def chatty(self) -> bool:
        return any(w in self._p for w in ("keep asking", "never hang up", "many questions", "endless", "keep talking"))

    def slot(self, lang: str) -> str:
        m = _SLOT_RE.search(self.prompt + " " + (self.first_message or ""))
        if m and m.group(0).strip():
            return m.group(0).strip()
        return pick(SLOTS_RO if lang == "ro" else SLOTS, "slot", self.prompt)

    def name(self) -> str:
        m = _NAME_RE.search(self.prompt + " " + (self.first_message or ""))
        if m:
            return m.group(1)
        m = re.search(r"\bnamed\s+([A-Z]\w+)", self.prompt)
        if m:
            return m.group(1)
        return pick(NAMES, "name", self.prompt)


def detect_intent(text: str) -> str | None:
    t = text.lower()
    for intent, words in INTENT_WORDS:
        if any(w in t for w in words):
            return intent
    return None


# --------------------------------------------------------------------------- phrasebooks

PB: dict[str, dict[str, list[str]]] = {
    "en": {
        "greet": ["Hello! How can I help you today?", "Hi there, how can I help?"],
        "user_booking": ["Hi, I'd like to book an appointment for {slot}.", "Hello, can I schedule a visit on {slot}?"],
        "user_cancel": ["I need to cancel my appointment on {slot}.", "Hi, I have to cancel my booking for {slot}."],
        "user_price": ["How much does a consultation cost?", "What are your prices?"],
        "user_complaint": ["My order arrived broken and I want a refund.", "I'm not happy, I was charged twice and I want my money back."],
        "user_hours": ["What are your opening hours?", "Are you open on Saturday?"],
        "user_question": ["I have a question about your services.", "Can you tell me what you offer?"],
        "user_name": ["Sure, my name is {name}.", "It's {name}."],
        "user_pushback": ["That's not good enough. I've been waiting forever!", "Honestly, this is ridiculous."],
        "user_thanks": ["Great, thank you.", "Perfect, thanks."],
        "user_more": ["One more thing: {q}", "And also, {q}"],
        "user_bye": ["No, that's all. Bye!", "Nothing else, goodbye."],
        "ask_name": ["May I have your name, please?", "Could I get your name for the booking?"],
        "checking": ["Let me check that for you.", "One moment while I look that up."],
        "booked": ["You're all set, I've booked it.", "Done, the appointment is booked."],
        "confirm": ["To confirm: your appointment is on {slot}.", "Just to confirm, that's {slot}."],
        "cancelled": ["Your appointment on {slot} has been cancelled.", "I've cancelled the booking for {slot}."],
        "tool_error": ["I'm sorry, our booking system is not responding right now. Could you call back later?"],
        "price": ["A standard consultation is 80 EUR and a cleaning is 60 EUR.", "Prices start at 60 EUR for a cleaning."],
        "no_price": ["I'm not able to discuss prices over the phone, but our front desk can help with that."],
        "hours": ["We're open Monday to Friday, 9 AM to 6 PM, and Saturday 10 AM to 2 PM."],
        "question": ["I can help with that. What would you like to know?", "Sure, I can answer questions about our services."],
        "complaint": ["I can look into that order and arrange a refund.", "Let me open a ticket and sort out the refund."],
        "apology": ["I'm sorry about that, I understand how frustrating it is.", "I'm really sorry for the trouble."],
        "transfer": ["I'll transfer you to a human colleague who can help right away."],
        "rude": ["That's just how it is.", "I can't do anything about that."],
        "kb": ["According to {kb}, ", "Our {kb} says: "],
        "anything_else": ["Is there anything else I can help you with?", "Anything else I can do for you?"],
        "closing": ["Thank you for calling, have a great day!", "Goodbye and take care!"],
        "polite_prefix": ["Thank you! ", "Of course, happy to help. "],
        "followups": ["do you have parking?", "can I pay by card?", "is there a waiting list?", "do you take new patients?"],
        "answer_followup": ["Yes, we do.", "Yes, that's possible.", "I'll note that for you."],
    },
    "ro": {
        "greet": ["Alo, da?", "Bună ziua, cu ce vă pot ajuta?"],
        "user_booking": ["Bună ziua, aș vrea o programare {slot}.", "Aș dori să fac o programare pentru {slot}."],
        "user_cancel": ["Trebuie să anulez programarea de {slot}.", "Vreau să anulez programarea {slot}."],
        "user_price": ["Cât costă o consultație?", "Care sunt prețurile?"],
        "user_complaint": ["Sunt nemulțumit, am fost taxat de două ori.", "Vreau să fac o reclamație."],
        "user_hours": ["Care este programul de lucru?", "Sunteți deschis sâmbătă?"],
        "user_question": ["Am o întrebare despre serviciile voastre.", "Ce servicii oferiți?"],
        "user_name": ["Numele meu este {name}.", "Mă numesc {name}."],
        "user_pushback": ["Nu e suficient, aștept de mult!", "Sincer, e inacceptabil."],
        "user_thanks": ["Super, mulțumesc.", "Perfect, mulțumesc frumos."],
        "user_more": ["Încă ceva: {q}", "Și, {q}"],
        "user_bye": ["Nu, asta e tot. La revedere!", "Nimic altceva, mulțumesc, la revedere."],
        "ask_name": ["Îmi puteți spune numele dumneavoastră, vă rog?"],
        "checking": ["Un moment, verific.", "Verific imediat disponibilitatea."],
        "booked": ["Gata, v-am programat.", "Programarea a fost făcută."],
        "confirm": ["Confirm: programarea este {slot}.", "Vă confirm programarea {slot}."],
        "cancelled": ["Programarea de {slot} a fost anulată."],
        "tool_error": ["Îmi pare rău, sistemul de programări nu răspunde acum. Puteți reveni mai târziu?"],
        "price": ["O consultație costă 200 de lei.", "Prețurile pornesc de la 150 de lei."],
        "no_price": ["Nu pot discuta prețuri la telefon, dar colegii de la recepție vă pot ajuta."],
        "hours": ["Suntem deschiși de luni până vineri, între 9 și 18."],
        "question": ["Oferim consultații, detartraj și albire.", "Vă pot ajuta cu programări și informații."],
        "complaint": ["Verific imediat și rezolvăm rambursarea.", "Deschid un tichet pentru rambursare."],
        "apology": ["Îmi pare rău pentru neplăcere.", "Îmi cer scuze pentru situație."],
        "transfer": ["Vă transfer la un coleg care vă poate ajuta imediat."],
        "rude": ["Asta e situația.", "Nu pot face nimic."],
        "kb": ["Conform {kb}, ", "Din {kb}: "],
        "anything_else": ["Vă mai pot ajuta cu ceva?", "Mai aveți nevoie de ceva?"],
        "closing": ["Mulțumim pentru apel, o zi bună!", "La revedere, o zi frumoasă!"],
        "polite_prefix": ["Mulțumesc! ", "Desigur, cu plăcere. "],
        "followups": ["aveți parcare?", "pot plăti cu cardul?", "primiți pacienți noi?"],
        "answer_followup": ["Da, avem.", "Da, se poate.", "Am notat."],
    },
}

ROMANIAN_MARKERS = ("ă", "ș", "ț", "î", "â", " vă ", "mulțumesc", "programare", "bună")
POLITE_MARKERS = ("thank", "sorry", "please", "happy to", "of course", "mulțumesc", "îmi pare rău", "vă rog",
                  "cu plăcere", "scuze", "desigur")
CLOSING_MARKERS = ("goodbye", "have a great day", "take care", "la revedere", "o zi bună", "o zi frumoasă")


def phrase(lang: str, key: str, *seed: Any, **fmt: Any) -> str:
    book = PB.get(lang) or PB["en"]
    text = pick(book.get(key) or PB["en"][key], key, *seed)
    return text.format(**fmt) if fmt else text


# --------------------------------------------------------------------------- the brain


@dataclass
class ToolMock:
    return_value: str = "Tool Called."
    is_error: bool = False


class Simulation:
    """One simulated dialogue: iterate :meth:`turns` to get turns one at a time."""

    def __init__(
        self,
        agent: AgentView,
        persona: PersonaView,
        *,
        tool_mocks: dict[str, ToolMock] | None = None,
        history: list[TranscriptTurn] | None = None,
        turns_limit: int = 10000,
    ) -> None:
        self.agent = agent
        self.persona = persona
        self.mocks = tool_mocks or {}
        self.history = list(history or [])
        self.limit = max(1, turns_limit)
        self.lang = (persona.language or "").lower()[:2] or agent.lang
        if self.lang not in PB:
            self.lang = "en"
        self.alang = agent.lang
        self.slot = persona.slot(self.lang)
        self.user_name = persona.name()
        self.seed = (agent.prompt, agent.first_message, persona.prompt, persona.first_message)
        self.ended_naturally = False
        self.name_given = False
        self.tool_errors = 0
        self._t = max((t.time_in_call_secs for t in self.history), default=0)
        self._n = 0
        self._req = 0

    # -- building blocks
    def _time(self, text: str | None) -> int:
        self._t += 2 + len(text or "") // 18
        return self._t

    def _agent(self, text: str | None, **kw: Any) -> TranscriptTurn:
        return TranscriptTurn(role="agent", message=text, time_in_call_secs=self._time(text), **kw)

    def _user(self, text: str) -> TranscriptTurn:
        return TranscriptTurn(role="user", message=text, time_in_call_secs=self._time(text))

    def _tool_turns(self, tool: str, params: dict[str, Any]) -> tuple[TranscriptTurn, bool]:
        self._req += 1
        rid = f"req_{h(self.seed, tool, self._req) % 10**10:010d}"
        mock = self.mocks.get(tool) or self.mocks.get("*") or ToolMock()
        call = ToolCall(request_id=rid, tool_name=tool, params_as_json=json.dumps(params, ensure_ascii=False),
                        tool_has_been_called=True, type="webhook")
        result = ToolResult(request_id=rid, tool_name=tool, result_value=mock.return_value,
                            is_error=mock.is_error, tool_has_been_called=True, type="webhook",
                            tool_latency_secs=0.2)
        turn = TranscriptTurn(role="agent", message=None, time_in_call_secs=self._time("tool"),
                              tool_calls=[call], tool_results=[result])
        if mock.is_error:
            self.tool_errors += 1
        return turn, not mock.is_error

    def _style(self, core: str, key_seed: Any, apologise: bool = False) -> str:
        a, L = self.agent, self.alang
        parts: list[str] = []
        if a.rude:
            return phrase(L, "rude", self.seed, key_seed)
        if apologise and a.polite:
            parts.append(phrase(L, "apology", self.seed, key_seed))
        elif a.polite and not a.concise:
            parts.append(phrase(L, "polite_prefix", self.seed, key_seed).strip())
        parts.append(core)
        return " ".join(p for p in parts if p)

    # -- the agent's reply to a user message
    def agent_reply(self, user_text: str, step: int) -> list[TranscriptTurn]:
        a, L = self.agent, self.alang
        intent = detect_intent(user_text)
        out: list[TranscriptTurn] = []
        if intent == "booking" or (intent is None and step == 0 and self.persona.intent == "booking"):
            m = _SLOT_RE.search(user_text) or _TIME_RE.search(user_text)
            if m:
                self.slot = m.group(0).strip()
            if a.asks_name and not self._name_given():
                return [self._agent(self._style(phrase(L, "ask_name", self.seed, step), step))]
            avail = a.availability_tool()
            if avail:
                t, ok = self._tool_turns(avail, {"slot": self.slot})
                out.append(t)
            tool = a.tool_for("booking")
            ok = True
            for t in self.history:
                m = _NAME_RE.search(t.message or "") if t.role == "user" else None
                if m:
                    self.user_name = m.group(1)
            if tool:
                t, ok = self._tool_turns(tool, {"time": self.slot, "name": self.user_name})
                out.append(t)
            if not ok:
                out.append(self._agent(self._style(phrase(L, "tool_error", self.seed), step, apologise=True)))
                return out
            text = phrase(L, "booked", self.seed, step)
            if a.confirms:
                text += " " + phrase(L, "confirm", self.seed, step, slot=self.slot)
            out.append(self._agent(self._style(text, step)))
            return out
        if intent == "cancel":
            tool = a.tool_for("cancel")
            if tool:
                t, ok = self._tool_turns(tool, {"time": self.slot})
                out.append(t)
                if not ok:
                    out.append(self._agent(self._style(phrase(L, "tool_error", self.seed), step, apologise=True)))
                    return out
            out.append(self._agent(self._style(phrase(L, "cancelled", self.seed, step, slot=self.slot), step)))
            return out
        if intent == "price":
            if a.no_price:
                core = phrase(L, "no_price", self.seed)
            else:
                core = phrase(L, "price", self.seed, step)
                if a.knowledge_base:
                    core = phrase(L, "kb", self.seed, kb=a.knowledge_base[0]) + core[0].lower() + core[1:]
            return [self._agent(self._style(core, step))]
        if intent == "complaint":
            tool = a.tool_for("complaint")
            if tool:
                t, _ = self._tool_turns(tool, {"order_id": f"A-{h(self.seed) % 90000 + 10000}"})
                out.append(t)
            core = phrase(L, "complaint", self.seed, step)
            out.append(self._agent(self._style(core, step, apologise=True)))
            return out
        if intent == "hours":
            core = phrase(L, "hours", self.seed)
            if a.knowledge_base:
                core = phrase(L, "kb", self.seed, kb=a.knowledge_base[0]) + core[0].lower() + core[1:]
            return [self._agent(self._style(core, step))]
        # names, thanks, pushback, follow-ups, anything else
        low = user_text.lower()
        if (_NAME_RE.search(user_text) or self._asked_name_last()) and not self._booked() and (
                self.persona.intent == "booking" or self._intent_so_far() == "booking"):
            self.name_given = True
            return self.agent_reply(phrase(self.lang, "user_booking", self.seed, slot=self.slot), step)
        if any(w in low for w in ("not good enough", "ridiculous", "inacceptabil", "nu e suficient")):
            if a.escalates:
                return [self._agent(self._style(phrase(L, "transfer", self.seed), step, apologise=True))]
            return [self._agent(self._style(phrase(L, "complaint", self.seed, step + 1), step, apologise=True))]
        if any(w in low for w in ("bye", "goodbye", "la revedere", "that's all", "asta e tot")):
            return [self._agent(phrase(L, "closing", self.seed))]
        if any(w in low for w in ("thank", "mulțumesc")):
            return [self._agent(self._style(phrase(L, "anything_else", self.seed, step), step))]
        if "?" in user_text:
            return [self._agent(self._style(phrase(L, "answer_followup", self.seed, step), step))]
        return [self._agent(self._style(phrase(L, "question", self.seed, step), step))]

    def _name_given(self) -> bool:
        return self.name_given or any(
            t.role == "user" and t.message and _NAME_RE.search(t.message) for t in self.history)

    def _asked_name_last(self) -> bool:
        """Did the agent's last message before the caller's latest turn ask for a name?"""
        seen_user = False
        for t in reversed(self.history):
            if t.role == "user":
                seen_user = True
            elif seen_user and t.message:
                ml = t.message.lower()
                return "your name" in ml or "numele" in ml
        return False

    def _intent_so_far(self) -> str | None:
        return detect_intent(" ".join(t.message or "" for t in self.history if t.role == "user"))

    def _booked(self) -> bool:
        return any(t.tool_calls and any(c.tool_name == self.agent.tool_for("booking") for c in t.tool_calls)
                   for t in self.history) or any(
            t.role == "agent" and t.message and any(w in t.message.lower() for w in ("booked", "programat"))
            for t in self.history)

    # -- the simulated user's next line
    def user_line(self, step: int) -> str | None:
        p, L = self.persona, self.lang
        last_agent = next((t.message or "" for t in reversed(self.history) if t.role == "agent" and t.message), "")
        la = last_agent.lower()
        if step == 0:
            if p.first_message:
                return p.first_message
            return phrase(L, f"user_{p.intent}", self.seed, slot=self.slot)
        if any(m in la for m in CLOSING_MARKERS):
            return None
        if "name" in la or "numele" in la:
            return phrase(L, "user_name", self.seed, name=self.user_name)
        if p.difficult and step == 1:
            return phrase(L, "user_pushback", self.seed)
        if "transfer" in la:
            return phrase(L, "user_bye", self.seed)
        if p.chatty:
            q = phrase(L, "followups", self.seed, step)
            return phrase(L, "user_more", self.seed, step, q=q)
        if "anything else" in la or "mai pot ajuta" in la or "mai aveți nevoie" in la:
            return phrase(L, "user_bye", self.seed)
        if step >= 4:
            return phrase(L, "user_bye", self.seed)
        return phrase(L, "user_thanks", self.seed, step)

    # -- the whole dialogue, one turn at a time
    def turns(self) -> Iterator[TranscriptTurn]:
        produced = 0

        def emit(turn: TranscriptTurn) -> TranscriptTurn:
            nonlocal produced
            produced += 1
            self.history.append(turn)
            return turn

        if not self.history:
            first = self.agent.first_message or phrase(self.alang, "greet", self.seed)
            yield emit(self._agent(first))
        elif self.history[-1].role == "user":
            for t in self.agent_reply(self.history[-1].message or "", 0):
                if produced >= self.limit:
                    return
                yield emit(t)
        step = 0
        while produced < self.limit:
            line = self.user_line(step)
            if line is None:
                self.ended_naturally = True
                return
            yield emit(self._user(line))
            for t in self.agent_reply(line, step):
                if produced >= self.limit:
                    return
                yield emit(t)
            last = self.history[-1].message or ""
            if any(m in last.lower() for m in CLOSING_MARKERS) and self.history[-1].role == "agent":
                self.ended_naturally = True
                return
            step += 1


# --------------------------------------------------------------------------- judging


@dataclass
class Verdict:
    ok: bool | None  # None: unknown
    rationale: str

    @property
    def result(self) -> str:
        return "unknown" if self.ok is None else ("success" if self.ok else "failure")


def _agent_texts(transcript: list[TranscriptTurn]) -> list[tuple[int, str]]:
    return [(i, t.message) for i, t in enumerate(transcript) if t.role == "agent" and t.message]


def _quote(s: str, n: int = 70) -> str:
    s = s.replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


def judge(condition: str, transcript: list[TranscriptTurn], *, focus: list[TranscriptTurn] | None = None,
          agent: AgentView | None = None) -> Verdict:
    """Judge a natural-language condition against the agent turns (``focus`` if given)."""
    turns = focus if focus is not None else transcript
    texts = _agent_texts(turns)
    all_agent = " ".join(t for _, t in texts).lower()
    c = condition.lower()
    checks: list[tuple[bool | None, str]] = []

    def find(markers: tuple[str, ...] | list[str]) -> tuple[int, str] | None:
        for i, t in texts:
            tl = t.lower()
            if any(m in tl for m in markers):
                return i, t
        return None

    negative = bool(re.search(r"\b(not|never|no|doesn't|does not|without|avoid)\b", c))
    if "confirm" in c or "confirmă" in c:
        hit = find(("confirm",))
        needs_time = any(w in c for w in ("time", "date", "slot", "booking", "appointment", "ora", "programar"))
        booked = any(tc.tool_name and "cancel" not in tc.tool_name.lower() and any(
            k in tc.tool_name.lower() for k in ("book", "programare", "appointment"))
            for t in turns if t.tool_calls for tc in t.tool_calls) or find(
            ("booked", "programat", "programarea a fost", "all set")) is not None
        if needs_time and not booked and not hit:
            checks.append((None, "nothing to confirm: no booking was made in this call"))
        elif hit and needs_time and not (_SLOT_RE.search(hit[1]) or _TIME_RE.search(hit[1])):
            checks.append((False, f"turn {hit[0]} confirms but repeats no time: \"{_quote(hit[1])}\""))
        elif hit:
            checks.append((True, f"turn {hit[0]} confirms: \"{_quote(hit[1])}\""))
        else:
            checks.append((False, "no agent turn confirms the details back to the caller"))
    if re.search(r"price|pricing|cost|preț", c):
        hit = next(((i, t) for i, t in texts if _PRICE_RE.search(t)), None)
        if negative:
            checks.append((hit is None, f"turn {hit[0]} mentions a price: \"{_quote(hit[1])}\"" if hit
                           else "no agent turn mentions a price"))
        else:
            checks.append((hit is not None, f"turn {hit[0]} gives a price: \"{_quote(hit[1])}\"" if hit
                           else "no agent turn gives a price"))
    if re.search(r"polite|courteous|friendly|respectful|empath|apolog|politicos", c):
        hit = find(POLITE_MARKERS)
        rude = agent.rude if agent else False
        ok = hit is not None and not rude
        checks.append((ok, f"turn {hit[0]} is courteous: \"{_quote(hit[1])}\"" if ok and hit
                       else "no agent turn thanks, apologises or says please"))
    if re.search(r"\bname\b|numele", c):
        hit = find(("your name", "numele"))
        checks.append((hit is not None, f"turn {hit[0]} asks for the name" if hit
                       else "the agent never asks for the caller's name"))
    if re.search(r"transfer|escalat|human|colleague|coleg", c):
        hit = find(("transfer",))
        if negative:
            checks.append((hit is None, "the agent does not transfer" if hit is None
                           else f"turn {hit[0]} transfers the caller"))
        else:
            checks.append((hit is not None, f"turn {hit[0]} offers a transfer: \"{_quote(hit[1])}\"" if hit
                           else "the agent never offers to transfer to a human"))
    if re.search(r"romanian|română|romana", c):
        ro = sum(1 for _, t in texts if any(m in f" {t.lower()} " for m in ROMANIAN_MARKERS))
        ok = bool(texts) and ro >= max(1, len(texts) // 2)
        checks.append((ok, f"{ro} of {len(texts)} agent turns are in Romanian"))
    if re.search(r"\bbook|schedul|appointment|programa", c) and "confirm" not in c and not re.search(
            r"before (book|schedul|making)", c):
        tool_hit = any(tc.tool_name and any(k in tc.tool_name.lower() for k in ("book", "programare", "appointment"))
                       for t in turns if t.tool_calls for tc in t.tool_calls)
        hit = find(("booked", "programat", "programarea a fost"))
        ok = tool_hit or hit is not None
        checks.append((ok, "the booking was made" + (" with the booking tool" if tool_hit else "")
                       if ok else "nothing was booked"))
    if re.search(r"greet|introduc|first message|salut", c):
        ok = bool(texts) and texts[0][0] <= 1
        checks.append((ok, "the agent greets the caller first" if ok else "the agent does not greet first"))
    if re.search(r"goodbye|close the call|end the call|wrap up|closing|la revedere", c):
        hit = find(CLOSING_MARKERS)
        checks.append((hit is not None, "the agent closes the call politely" if hit else "the agent never says goodbye"))
    if re.search(r"\btool\b|lookup|look up|check availability", c):
        calls = [tc.tool_name for t in turns if t.tool_calls for tc in t.tool_calls]
        checks.append((bool(calls), f"tools called: {', '.join(calls)}" if calls else "no tool was called"))
    if re.search(r"refund|rambursare", c):
        hit = find(("refund", "rambursare"))
        checks.append((hit is not None, f"turn {hit[0]} handles the refund" if hit else "no refund is offered"))

    if checks:
        decided = [c_ok for c_ok, _ in checks if c_ok is not None]
        ok = None if not decided else all(decided)
        return Verdict(ok, "; ".join(r for _, r in checks) + ".")
    # Fallback: word overlap between the condition and what the agent said.
    words = {stem(w) for w in content_words(condition)}
    if not words:
        return Verdict(None, "the condition names nothing that can be checked in the transcript.")
    said = {stem(w) for w in content_words(all_agent)}
    found = sorted(words & said)
    ratio = len(found) / len(words)
    ok = ratio >= 0.5
    return Verdict(ok, f"{len(found)} of {len(words)} key words of the condition appear in the agent's turns"
                       + (f" ({', '.join(found)})" if found else "") + ".")


def analyse(
    agent: AgentView,
    transcript: list[TranscriptTurn],
    *,
    extra_criteria: list[dict[str, Any]] | None = None,
    ended_naturally: bool = True,
    tool_errors: int = 0,
) -> ConversationAnalysis:
    criteria = list(agent.criteria) + list(extra_criteria or [])
    results: dict[str, EvaluationCriteriaResult] = {}
    for crit in criteria:
        cid = crit.get("id") or crit.get("name") or "criterion"
        goal = crit.get("conversation_goal_prompt") or crit.get("name") or ""
        v = judge(goal, transcript, agent=agent)
        results[cid] = EvaluationCriteriaResult(criteria_id=cid, result=v.result, rationale=v.rationale)
    data: dict[str, DataCollectionResult] = {}
    users = " ".join(t.message or "" for t in transcript if t.role == "user")
    for did, spec in agent.data_collection.items():
        desc = (spec or {}).get("description", "") if isinstance(spec, dict) else str(spec)
        val: Any = None
        why = "not mentioned in the conversation"
        key = f"{did} {desc}".lower()
        if "name" in key:
            m = _NAME_RE.search(users)
            if m:
                val, why = m.group(1), "the caller gave their name"
        elif "time" in key or "slot" in key or "date" in key:
            m = _SLOT_RE.search(users) or _TIME_RE.search(users)
            if m:
                val, why = m.group(0).strip(), "the caller named a time"
        elif "intent" in key or "reason" in key:
            val, why = detect_intent(users) or "question", "inferred from the caller's words"
        data[did] = DataCollectionResult(data_collection_id=did, value=val, rationale=why)
    failed = [k for k, r in results.items() if r.result == "failure"]
    if failed or tool_errors:
        success = "failure"
    elif not transcript or not ended_naturally and not results:
        success = "unknown"
    else:
        success = "success"
    users_n = sum(1 for t in transcript if t.role == "user")
    intent = detect_intent(users) or "question"
    title = {
        "booking": "Appointment booking", "cancel": "Cancellation", "price": "Price enquiry",
        "complaint": "Complaint", "hours": "Opening hours", "question": "General question",
    }[intent]
    summary = (f"The caller ({intent}) spoke with {agent.name} over {users_n} user turns; "
               f"{'the call ended naturally' if ended_naturally else 'the call was cut at the turn limit'}"
               + (f"; {tool_errors} tool call(s) failed" if tool_errors else "")
               + (f"; failed criteria: {', '.join(failed)}" if failed else "") + ".")
    return ConversationAnalysis(
        call_successful=success,
        transcript_summary=summary,
        call_summary_title=title,
        evaluation_criteria_results=results,
        data_collection_results=data,
    )
