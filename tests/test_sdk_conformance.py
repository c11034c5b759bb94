"""The official ``elevenlabs`` SDK talks to the emulator, and every response validates
strictly against the SDK's own pydantic types (not just its lenient constructors)."""

from __future__ import annotations

import json

import pytest

elevenlabs = pytest.importorskip("elevenlabs", reason="the test extra installs the official SDK")
from elevenlabs import ElevenLabs  # noqa: E402
from elevenlabs import types as T  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

from convai_tui.api.stream import StreamDecoder  # noqa: E402

BELLA = "agent_dental_bella"


def strict(sdk_type, raw):
    """Validate a raw JSON payload with the SDK's type; raises on any mismatch."""
    return TypeAdapter(sdk_type).validate_python(raw)


@pytest.fixture(scope="module")
def sdk(emulator):
    return ElevenLabs(api_key=emulator.api_key, base_url=emulator.base_url)


def raw_json(http_response):
    return http_response._response.json()  # the SDK keeps the httpx response here


def test_agents_get_and_list(sdk):
    agent = sdk.conversational_ai.agents.get(BELLA)
    assert agent.agent_id == BELLA
    assert agent.conversation_config.agent.prompt.prompt.startswith("You are")
    strict(T.GetAgentResponseModel, raw_json(sdk.conversational_ai.agents.with_raw_response.get(BELLA)))
    page = sdk.conversational_ai.agents.list()
    assert len(page.agents) == 3
    strict(T.GetAgentsPageResponseModel, raw_json(sdk.conversational_ai.agents.with_raw_response.list()))


def _spec():
    return T.ConversationSimulationSpecification(
        simulated_user_config=T.AgentConfig(
            first_message="Hi, I'd like to book an appointment on Friday at 9 AM.",
            prompt=T.PromptAgentApiModelOutput(prompt="Your goal is to be a really difficult user.", llm="gpt-4o",
                                               temperature=0.5)),
        tool_mock_config={"book_appointment": T.ToolMockConfig(default_return_value='{"ok": true}')},
    )


def _criteria():
    return [T.PromptEvaluationCriteria(id="politeness_check", name="Politeness Check",
                                       conversation_goal_prompt="The agent was polite.", use_knowledge_base=False)]


def test_simulate_plain(sdk):
    resp = sdk.conversational_ai.agents.simulate_conversation(
        BELLA, simulation_specification=_spec(), extra_evaluation_criteria=_criteria())
    assert resp.simulated_conversation[0].role == "agent"
    assert resp.analysis.evaluation_criteria_results["politeness_check"].result in ("success", "failure")
    raw = raw_json(sdk.conversational_ai.agents.with_raw_response.simulate_conversation(
        BELLA, simulation_specification=_spec(), extra_evaluation_criteria=_criteria()))
    strict(T.AgentSimulatedChatTestResponseModel, raw)


def test_simulate_stream(sdk):
    # The SDK sends the request and does not parse the body; we check every frame ourselves.
    assert sdk.conversational_ai.agents.simulate_conversation_stream(
        BELLA, simulation_specification=_spec(), extra_evaluation_criteria=_criteria()) is None
    http = sdk.conversational_ai.agents.with_raw_response.simulate_conversation_stream(
        BELLA, simulation_specification=_spec(), extra_evaluation_criteria=_criteria())
    dec = StreamDecoder()
    values = list(dec.feed(http._response.content)) + list(dec.close())
    assert len(values) >= 3
    for v in values[:-1]:
        strict(list[T.ConversationHistoryTranscriptCommonModelOutput], v)
    strict(T.AgentSimulatedChatTestResponseModel, values[-1])


def test_conversations_list_and_get(sdk):
    page = sdk.conversational_ai.conversations.list(agent_id="agent_sanitas_ro", page_size=20)
    assert len(page.conversations) == 20 and page.has_more
    raw = raw_json(sdk.conversational_ai.conversations.with_raw_response.list(agent_id="agent_sanitas_ro"))
    strict(T.GetConversationsPageResponseModel, raw)
    cid = page.conversations[0].conversation_id
    conv = sdk.conversational_ai.conversations.get(cid)
    assert conv.transcript[0].message == "Alo, da?"
    strict(T.GetConversationResponseModel, raw_json(sdk.conversational_ai.conversations.with_raw_response.get(cid)))


def test_tests_create_list_get(sdk):
    from elevenlabs.conversational_ai.tests.types import TestsGetResponse

    from elevenlabs.conversational_ai.tests import TestsCreateRequestBody_Llm

    made = sdk.conversational_ai.tests.create(request=TestsCreateRequestBody_Llm(
        name="SDK made this", success_condition="The agent is polite.",
        chat_history=[T.ConversationHistoryTranscriptCommonModelInput(role="user", message="Hello?",
                                                                      time_in_call_secs=0)],
        success_examples=[T.AgentSuccessfulResponseExample(response="Hi, thanks for calling!")],
        failure_examples=[T.AgentFailureResponseExample(response="What.")]))
    assert made.id
    got = sdk.conversational_ai.tests.get(made.id)
    assert got.name == "SDK made this"
    strict(TestsGetResponse, raw_json(sdk.conversational_ai.tests.with_raw_response.get(made.id)))
    page = sdk.conversational_ai.tests.list(page_size=100)
    assert made.id in {t.id for t in page.tests}
    strict(T.GetTestsPageResponseModel, raw_json(sdk.conversational_ai.tests.with_raw_response.list()))


def test_run_tests_and_invocation(sdk):
    import time

    inv = sdk.conversational_ai.agents.run_tests(
        BELLA, tests=[T.SingleTestRunRequestModel(test_id="test_bella_confirms"),
                      T.SingleTestRunRequestModel(test_id="test_bella_sim_booking")], repeat_count=2)
    assert len(inv.test_runs) == 4
    deadline = time.monotonic() + 20
    while True:
        got = sdk.conversational_ai.tests.invocations.get(inv.id)
        if all(r.status != "pending" for r in got.test_runs) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {r.status for r in got.test_runs} <= {"passed", "failed"}
    raw = raw_json(sdk.conversational_ai.tests.invocations.with_raw_response.get(inv.id))
    strict(T.GetTestSuiteInvocationResponseModel, raw)
    # the list endpoint too
    raw = raw_json(sdk.conversational_ai.tests.invocations.with_raw_response.list(agent_id=BELLA))
    strict(T.GetTestInvocationsPageResponseModel, raw)
    assert json.dumps(raw)  # plain JSON all the way down


def test_every_special_conversation_validates(sdk):
    """The demo's edge cases (literal markup, a 5,000-turn call) are valid API JSON. (The drift call,
    ``conv_unknown_values``, is only served with ``drift=True``, and is not: that is its point.)"""
    for cid in ("conv_markup_and_escapes", "conv_long_call"):
        strict(T.GetConversationResponseModel, raw_json(sdk.conversational_ai.conversations.with_raw_response.get(cid)))


# --------------------------------------------------------------------------- every operation
def _sdk_type(schema):
    """The SDK 2.78.0 type of a response schema of the document (by its component name)."""
    import re

    if schema is None:
        return None
    if "$ref" not in schema:  # GET/PUT agent-testing/{id}: the union of the three test types
        from elevenlabs.conversational_ai.tests.types import TestsGetResponse

        return TestsGetResponse
    name = re.sub(r"[^A-Za-z0-9]", "", schema["$ref"].rsplit("/", 1)[1]).lower()
    by_name = {re.sub(r"[^A-Za-z0-9]", "", k).lower(): getattr(T, k) for k in dir(T) if not k.startswith("_")}
    return by_name[name]


def test_the_sdk_types_accept_every_response_of_every_operation(walked):
    """The same exchanges the document check validates (tests/spec_walk.py: every operation, its
    errors, every list to its end, every seeded conversation), now through the SDK's strict types."""
    log, _ = walked
    checked = 0
    for e in log:
        if e.status >= 400 and e.status != 422:
            continue  # the SDK has no type for {"detail": {status, message}} errors
        if e.lines:
            for v in e.lines[:-1]:
                strict(list[T.ConversationHistoryTranscriptCommonModelOutput], v)
            strict(T.AgentSimulatedChatTestResponseModel, e.lines[-1])
            checked += 1
            continue
        sdk_type = _sdk_type(e.op.response_schema(e.status))
        if sdk_type is None:
            assert isinstance(e.body, dict)  # documented as "any JSON": the emulator answers {} (or ids)
            continue
        try:
            strict(sdk_type, e.body)
        except Exception as exc:
            raise AssertionError(f"{e.method} {e.path} -> {e.status}: {str(exc)[:600]}") from None
        checked += 1
    print(f"\n{checked} responses validated with the SDK's types")
    assert checked > 500
