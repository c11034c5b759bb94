"""Run a simulation by whichever road the server offers.

* **stream** - ``POST .../simulate-conversation/stream`` (the seed endpoint; the SDK marks it
  deprecated). Turns arrive as they are produced.
* **test** - a temporary agent test of ``type: "simulation"`` run with ``run-tests`` and
  followed through its invocation (the road upstream recommends). Turns arrive when the
  invocation reports them.

``road="auto"`` tries the stream and falls back to the test road when the endpoint
answers 404/405/410; the choice is remembered per client and reported as a
:class:`RoadChosen` update so the UI can show it.
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator, Literal

from . import errors as E
from .client import ConvAIClient
from .models import (
    AgentConfigOverride,
    AgentTestBody,
    ConversationAnalysis,
    EvaluationCriteriaResult,
    RunTestsRequest,
    SimulationRequest,
    SimulationResponse,
    TestRef,
    ToolResponseMock,
    TranscriptTurn,
)
from .sim_events import Finished, NewTurns, Progress, RoadChosen
from .stream import FinalEvent, TurnsEvent, assemble_response

Road = Literal["auto", "stream", "test"]


SimulationUpdate = RoadChosen | NewTurns | Progress | Finished

_ROAD_MEMO = "_convai_sim_road"
SIMULATION_TEST_MAX_TURNS = 50  # the published API's maximum for a simulation test (a turn: caller + agent)


def simulation_test_body(request: SimulationRequest, name: str | None = None) -> AgentTestBody:
    """The simulation-test equivalent of a simulate-conversation request."""
    spec = request.simulation_specification
    suc = spec.simulated_user_config
    scenario_parts = []
    if suc.prompt and suc.prompt.prompt:
        scenario_parts.append(suc.prompt.prompt)
    if suc.first_message:
        scenario_parts.append(f'Open the call by saying: "{suc.first_message}"')
    if suc.language:
        scenario_parts.append(f"Speak {suc.language}.")
    scenario = "\n".join(scenario_parts) or "A typical caller."
    overrides = None
    if spec.tool_mock_config:
        overrides = {tool: [ToolResponseMock(mock_result=m.default_return_value, is_error=m.default_is_error)]
                     for tool, m in spec.tool_mock_config.items()}
    limit = request.new_turns_limit or 20
    return AgentTestBody(
        name=name or f"convai-tui simulation {time.strftime('%Y-%m-%d %H:%M:%S')}",
        type="simulation",
        simulation_scenario=scenario,
        simulation_max_turns=max(1, min(SIMULATION_TEST_MAX_TURNS, (limit + 1) // 2)),
        success_conditions=[c.conversation_goal_prompt for c in request.extra_evaluation_criteria or []] or None,
        chat_history=spec.partial_conversation_history or None,
        dynamic_variables=spec.dynamic_variables or None,
        tool_mock_overrides=overrides,
    )


async def run_simulation(
    client: ConvAIClient,
    agent_id: str,
    request: SimulationRequest,
    *,
    road: Road = "auto",
    branch_id: str | None = None,
    agent_config_override: AgentConfigOverride | None = None,
) -> AsyncIterator[SimulationUpdate]:
    # simulate-conversation runs only the agent's live config: a branch, a saved version or a draft
    # can only be simulated through run-tests. Whatever road an earlier run took, this one is a test.
    if branch_id or agent_config_override:
        if road == "stream":
            raise ValueError("the stream road runs only the live config: a branch or an override needs the test road")
        yield RoadChosen("test", "a branch, a saved version or the draft runs as a simulation test (run-tests)")
        async for upd in _run_as_test(client, agent_id, request, branch_id, agent_config_override):
            yield upd
        return
    chosen = road if road != "auto" else getattr(client, _ROAD_MEMO, "auto")
    if chosen in ("auto", "stream"):
        turns: list[TranscriptTurn] = []
        try:
            announced = False
            async for ev in client.simulate_stream(agent_id, request):
                if not announced:
                    announced = True
                    setattr(client, _ROAD_MEMO, "stream")
                    yield RoadChosen("stream", "simulate-conversation/stream")
                if isinstance(ev, TurnsEvent):
                    turns.extend(ev.turns)
                    yield NewTurns(ev.turns)
                elif isinstance(ev, FinalEvent):
                    yield Finished(assemble_response(turns, ev), "stream")
                    return
            return
        except E.EndpointGone:
            if road == "stream":
                raise
            setattr(client, _ROAD_MEMO, "test")
            yield RoadChosen("test", "the stream endpoint is gone on this server; using a simulation test")
    else:  # asked for, or remembered: this server has no stream endpoint
        yield RoadChosen("test", "simulation test (agent-testing + run-tests)" if road == "test" else
                         "simulation test (this server no longer offers the stream)")
    async for upd in _run_as_test(client, agent_id, request, branch_id, agent_config_override):
        yield upd


async def _run_as_test(client: ConvAIClient, agent_id: str, request: SimulationRequest,
                       branch_id: str | None, override: AgentConfigOverride | None) -> AsyncIterator[SimulationUpdate]:
    body = simulation_test_body(request)
    created = await client.create_test(body)
    try:
        if (request.new_turns_limit or 20) > 2 * SIMULATION_TEST_MAX_TURNS:
            yield Progress(f"the scenario asks for {request.new_turns_limit} turns; a simulation test runs at most "
                           f"{SIMULATION_TEST_MAX_TURNS} exchanges (the API's limit)")
        yield Progress(f"created simulation test {created.id}; running it")
        inv = await client.run_tests(agent_id, RunTestsRequest(
            tests=[TestRef(test_id=created.id)], branch_id=branch_id, agent_config_override=override,
            name="convai-tui simulation"))
        seen = 0
        last = inv
        async for last in client.poll_invocation(inv.id, initial_interval=0.2, max_interval=2.0):
            run = last.test_runs[0] if last.test_runs else None
            if run and run.agent_responses and len(run.agent_responses) > seen:
                new = run.agent_responses[seen:]
                seen = len(run.agent_responses)
                yield NewTurns(list(new))
            elif run:
                yield Progress(f"simulation test {run.status}")
        run = last.test_runs[0] if last.test_runs else None
        turns = list(run.agent_responses or []) if run else []
        yield Finished(SimulationResponse(simulated_conversation=turns, analysis=_analysis_from_run(run, request)),
                       "test")
    finally:
        try:
            await client.delete_test(created.id)
        except E.ConvAIError:
            pass  # a leftover temporary test is harmless; never mask the real outcome


def _analysis_from_run(run: Any, request: SimulationRequest) -> ConversationAnalysis:
    if run is None:
        return ConversationAnalysis(call_successful="unknown", transcript_summary="The test run reported nothing.")
    status = run.status
    cr = run.condition_result
    msgs = list((cr.rationale.messages if cr and cr.rationale else None) or [])
    summary = (cr.rationale.summary if cr and cr.rationale else None) or f"Simulation test {status}."
    results: dict[str, EvaluationCriteriaResult] = {}
    for i, crit in enumerate(request.extra_evaluation_criteria or []):
        msg = msgs[i] if i < len(msgs) else ""
        met = ": met" in msg or (status == "passed" and not msg)
        results[crit.id] = EvaluationCriteriaResult(
            criteria_id=crit.id, result="success" if met else ("failure" if msg or status == "failed" else "unknown"),
            rationale=msg or summary)
    success = {"passed": "success", "failed": "failure"}.get(status, "unknown")
    return ConversationAnalysis(call_successful=success, transcript_summary=summary,
                                call_summary_title="Simulation test", evaluation_criteria_results=results)
