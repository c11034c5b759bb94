"""Simulation scenarios: a simulated-user persona plus everything a simulation request takes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..api.models import SimulationRequest


@dataclass
class ToolMock:
    return_value: str = "Tool Called."
    is_error: bool = False


@dataclass
class Criterion:
    id: str
    goal: str
    name: str = ""


@dataclass
class Scenario:
    name: str
    persona: str = ""
    first_message: str = ""
    language: str = ""
    turn_limit: int = 20
    tool_mocks: dict[str, ToolMock] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    partial_history: list[dict[str, Any]] = field(default_factory=list)
    dynamic_variables: dict[str, Any] = field(default_factory=dict)

    def to_request(self) -> SimulationRequest:
        from ..api.models import (
            EvaluationCriterion,
            PromptConfig,
            SimulatedUserConfig,
            SimulationRequest,
            SimulationSpecification,
            ToolMockConfig,
            TranscriptTurn,
        )

        suc = SimulatedUserConfig(
            prompt=PromptConfig(prompt=self.persona) if self.persona else None,
            first_message=self.first_message or None,
            language=self.language or None,
        )
        spec = SimulationSpecification(
            simulated_user_config=suc,
            tool_mock_config={k: ToolMockConfig(default_return_value=m.return_value, default_is_error=m.is_error)
                              for k, m in self.tool_mocks.items()} or None,
            partial_conversation_history=[TranscriptTurn.model_validate(t) for t in self.partial_history] or None,
            dynamic_variables=self.dynamic_variables or None,
        )
        return SimulationRequest(
            simulation_specification=spec,
            extra_evaluation_criteria=[EvaluationCriterion(id=c.id, name=c.name or c.id,
                                                           conversation_goal_prompt=c.goal)
                                       for c in self.criteria] or None,
            new_turns_limit=self.turn_limit,
        )

    # ---- a compact text form used by the scenario editor -----------------------------
    def mocks_text(self) -> str:
        return "\n".join(f"{'!' if m.is_error else ''}{k} = {m.return_value}" for k, m in self.tool_mocks.items())

    def criteria_text(self) -> str:
        return "\n".join(f"{c.id}: {c.goal}" for c in self.criteria)

    @staticmethod
    def parse_mocks(text: str) -> dict[str, ToolMock]:
        out: dict[str, ToolMock] = {}
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                raise ValueError(f"tool mocks line {n}: expected 'tool_name = return value' (prefix ! for an error)")
            name, value = (s.strip() for s in line.split("=", 1))
            err = name.startswith("!")
            name = name.lstrip("!").strip()
            if not re.fullmatch(r"[\w.\-]+", name):
                raise ValueError(f"tool mocks line {n}: {name!r} is not a tool name")
            out[name] = ToolMock(value, err)
        return out

    @staticmethod
    def parse_criteria(text: str) -> list[Criterion]:
        out: list[Criterion] = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if ":" not in line:
                raise ValueError(f"criteria line {n}: expected 'id: what the agent should achieve'")
            cid, goal = (s.strip() for s in line.split(":", 1))
            if not re.fullmatch(r"[\w\-]+", cid):
                raise ValueError(f"criteria line {n}: {cid!r} is not an id (letters, digits, _ and -)")
            if not goal:
                raise ValueError(f"criteria line {n}: the goal is empty")
            out.append(Criterion(cid, goal))
        return out


def builtin_scenarios() -> list[Scenario]:
    """Starter scenarios that make sense for most voice agents."""
    polite = Criterion("polite", "The agent is polite.")
    return [
        Scenario("Books an appointment",
                 persona="You want to book an appointment on Tuesday at 3 PM. My name is Maria.",
                 criteria=[Criterion("confirms_time", "The agent confirms the booking time."), polite]),
        Scenario("Difficult caller",
                 persona="You are an angry, difficult caller who was charged twice and wants a refund.",
                 criteria=[Criterion("escalates", "The agent offers to transfer the caller to a human."), polite]),
        Scenario("Asks about prices", persona="You ask how much a consultation costs.",
                 criteria=[Criterion("no_prices", "The agent does not mention prices.")]),
        Scenario("Cancels", persona="You need to cancel your appointment on Friday at 9 AM.", turn_limit=12),
        Scenario("Romanian caller", persona="Vrei o programare joi la ora 16:30. Mă numesc Mihai.", language="ro",
                 criteria=[Criterion("romanian", "The agent answers in Romanian.")]),
        Scenario("Chatty caller (long)", persona="You keep asking questions and never hang up.", turn_limit=200),
    ]
