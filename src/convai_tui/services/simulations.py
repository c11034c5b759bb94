"""Simulations: scenarios (the workspace's and the built-in ones) and runs against a target.

The remote main branch is simulated over ``simulate-conversation/stream`` when the server offers it;
a branch, a saved version or the draft always runs as a simulation test through run-tests (the only
call that takes ``branch_id`` / ``agent_config_override``). Every run names its target and its road.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

from ..workspace.scenarios import Scenario, builtin_scenarios
from .errors import UsageError
from .targets import RunTarget

if TYPE_CHECKING:
    from ..api.models import SimulationRequest, SimulationResponse
    from ..api.sim_events import SimulationUpdate
    from .session import Session

MAX_TURNS = 10_000


@dataclass
class SimulationVerdict:
    passed: bool
    failed_criteria: list[str]


def verdict(response: SimulationResponse) -> SimulationVerdict:
    """A simulation passes when the call is successful and no evaluation criterion failed."""
    an = response.analysis
    failed = [cid for cid, r in (an.evaluation_criteria_results or {}).items() if r.result == "failure"]
    return SimulationVerdict(an.call_successful == "success" and not failed, failed)


class SimulationsService:
    def __init__(self, session: Session) -> None:
        self.s = session

    # ------------------------------------------------------------------ scenarios
    def scenarios(self, agent_id: str) -> list[Scenario]:
        """The workspace's scenarios, then the built-in ones it does not override (by name)."""
        from ..workspace.errors import WorkspaceError

        try:
            saved = self.s.workspace.scenarios(agent_id)
        except WorkspaceError:
            saved = []
        names = {s.name for s in saved}
        return saved + [s for s in builtin_scenarios() if s.name not in names]

    def find_scenario(self, agent_id: str, ref: str) -> Scenario:
        """A scenario by name, file name, or path to a scenario TOML file."""
        from ..workspace import files as F

        path = Path(ref)
        if path.suffix == ".toml" and path.is_file():
            from ..workspace.store import ScenarioFile

            loaded = F.read(path)
            return F.validate(path, loaded.text, loaded.data, ScenarioFile).scenario()  # type: ignore[attr-defined]
        candidates = self.scenarios(agent_id)
        for s in candidates:
            if s.name == ref or F.safe_filename(s.name) == ref:
                return s
        names = ", ".join(sorted({s.name for s in candidates}))
        raise UsageError(f"no scenario {ref!r} (have: {names})")

    def save_scenario(self, agent_id: str, scenario: Scenario) -> Path:
        return self.s.workspace.save_scenario(agent_id, scenario)

    @staticmethod
    def request_for(scenario: Scenario, *, turns: int | None = None) -> SimulationRequest:
        """The simulation request of a scenario; a scenario the API would refuse is a :class:`UsageError`
        naming the field (a wrongly typed partial history, a turn limit out of range)."""
        from pydantic import ValidationError

        from ..api.models import TranscriptTurn

        limit = scenario.turn_limit if turns is None else turns
        if not 1 <= limit <= MAX_TURNS:
            raise UsageError(f"the turn limit must be between 1 and {MAX_TURNS:,} (got {limit})")
        for i, turn in enumerate(scenario.partial_history):
            try:
                TranscriptTurn.model_validate(turn)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first.get("loc", ()))
                raise UsageError(f"scenario {scenario.name!r}: partial_history turn {i}: {loc}: "
                                 f"{first.get('msg')}") from None
        try:
            s = Scenario(**{**scenario.__dict__, "turn_limit": limit})
            return s.to_request()
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            raise UsageError(f"scenario {scenario.name!r} cannot be sent: {loc}: {first.get('msg')}") from None

    # ------------------------------------------------------------------ running
    async def run(self, agent_id: str, scenario: Scenario, target: RunTarget, *,
                  turns: int | None = None) -> AsyncIterator[SimulationUpdate]:
        """Run ``scenario`` against ``target``: road, turns as they arrive, progress, then the result."""
        from ..api.simulations import run_simulation

        request = self.request_for(scenario, turns=turns)
        c = await self.s.client()
        async for upd in run_simulation(c, agent_id, request, branch_id=target.run_branch_id,
                                        agent_config_override=target.override()):
            yield upd

    @staticmethod
    def describe(scenario: Scenario) -> dict[str, Any]:
        return {"name": scenario.name, "turn_limit": scenario.turn_limit}
