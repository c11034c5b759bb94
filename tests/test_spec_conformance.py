"""The emulator speaks the published API: every response of every operation (successes and errors,
every list walked to its end, every seeded conversation, test, invocation and version) validates
against the published OpenAPI document with a JSON Schema validator, and declares no field the
document does not (beyond the few SDK 2.78.0 declares), in the default mode, with no exemptions."""

from __future__ import annotations

import inspect
from collections import Counter
from pathlib import Path

import pytest

from convai_tui.emulator import openapi as O
from convai_tui.emulator.runs import TEST_FIELDS
from convai_tui.emulator.state import EmulatorConfig, EmulatorState

ROOT = Path(__file__).resolve().parents[1]
SHARED_SPEC = ROOT.parent / "shared" / "api" / "convai-openapi.json"
REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def checker() -> O.SpecChecker:
    return O.SpecChecker()


# --------------------------------------------------------------------------- the document itself
def test_the_vendored_document_is_the_published_one():
    if not SHARED_SPEC.exists():
        pytest.skip(f"{SHARED_SPEC} is not here (a fresh clone): nothing to compare with")
    assert O.SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes()


def test_the_document_ships_with_the_package():
    assert O.SPEC_PATH.is_file()
    assert "emulator/spec/*.json" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert len([op for op in O.operations() if op.in_spec]) == 32


def test_the_test_fields_the_emulator_returns_are_the_documents(checker):
    for ttype, model in (("llm", "ResponseUnitTestModel"), ("tool", "ToolCallUnitTestModel"),
                         ("simulation", "SimulationTestModel")):
        assert set(TEST_FIELDS[ttype]) == set(checker.schemas[model]["properties"]), ttype


def test_the_fields_beyond_the_document_are_declared_by_the_official_sdk():
    """The only undeclared fields the checker lets through are ones SDK 2.78.0 has (it is newer)."""
    import elevenlabs.types as T
    from elevenlabs.conversational_ai.agents.raw_client import RawAgentsClient

    for schema, fields in O.SDK_EXTRA_FIELDS.items():
        if schema == "RunAgentTestsRequestModel":
            assert fields <= set(inspect.signature(RawAgentsClient.run_tests).parameters)
            continue
        assert fields <= set(getattr(T, schema).model_fields), schema
    from elevenlabs.conversational_ai.tests.invocations.raw_client import RawInvocationsClient

    assert hasattr(RawInvocationsClient, "cancel")  # the one SDK-only operation the emulator serves


def test_every_seeded_config_is_valid_input_for_the_api(checker):
    """So strict mode never refuses the emulator's own data (and the seeded agents are realistic)."""
    st = EmulatorState(EmulatorConfig(conversations=0))
    n = 0
    for rec in st.agents.values():
        for v in rec.versions():
            assert not checker.check(v.conversation_config, {"$ref": REF + "ConversationalConfigAPIModel-Input"})
            assert not checker.check(v.platform_settings, {"$ref": REF + "AgentPlatformSettingsRequestModel"})
            n += 1
    assert n >= 12  # 3-4 commits per agent's main, one per branch


# --------------------------------------------------------------------------- every response
def test_every_operation_was_answered_with_a_success_and_an_error(walked):
    log, _ = walked
    ops = {(op.method, op.path) for op in O.operations() if op.in_spec}
    ok = {(e.op.method, e.op.path) for e in log if e.status < 300}
    err = {(e.op.method, e.op.path) for e in log if 400 <= e.status < 500}
    assert ops - ok == set()
    assert ops - err == set()
    assert [e for e in log if e.status >= 500] == []


def test_every_response_conforms_to_the_document(walked, checker):
    log, state = walked
    problems = []
    statuses: Counter[int] = Counter()
    for e in log:
        statuses[e.status] += 1
        if e.lines:  # the stream: arrays of turns, then the final object
            turn = checker.schemas["AgentSimulatedChatTestResponseModel"]["properties"]["simulated_conversation"]
            for line in e.lines[:-1]:
                problems += [f"{e.method} {e.path} line: {p}" for p in checker.check(line, turn)]
            final = {"$ref": REF + "AgentSimulatedChatTestResponseModel"}
            problems += [f"{e.method} {e.path} final: {p}" for p in checker.check(e.lines[-1], final)]
            continue
        for p in checker.check(e.body, e.op.response_schema(e.status)):
            problems.append(f"{e.method} {e.path} -> {e.status}: {p}")
    details = sum(1 for e in log if e.op.operation_id == "get_conversation_history_route" and e.status == 200)
    print(f"\n{len(log)} responses validated over {len({e.op.operation_id for e in log})} operations; "
          f"statuses {dict(sorted(statuses.items()))}; {details} conversation details")
    assert problems == []
    assert details >= len(state.convs) - 1  # every seeded conversation (one was deleted at the end)


def test_the_drift_switch_is_what_serves_data_the_document_rejects(checker):
    """The 'future values' call exists only with drift=True, and it really violates the document."""
    plain = EmulatorState(EmulatorConfig(conversations=50))
    assert "conv_unknown_values" not in plain.conv_by_id
    drift = EmulatorState(EmulatorConfig(conversations=50, drift=True))
    c = drift.conv_by_id["conv_unknown_values"]
    errors = checker.check(drift.history.summary(c), {"$ref": REF + "ConversationSummaryResponseModel"})
    assert any("escalated-to-human" in e for e in errors) and any("sentiment_analysis" in e for e in errors)
    assert any("cost_fiat" in e for e in checker.check(drift.history.detail(c),
                                                       {"$ref": REF + "GetConversationResponseModel"}))
