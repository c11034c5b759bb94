"""Models tolerate and preserve unknown fields and enum values: nothing is lost."""

import json

from convai_tui.api.models import Agent, Conversation, ConversationsPage, TestInvocation

CONV = {
    "agent_id": "a", "conversation_id": "c", "status": "archived-by-robot",  # unknown enum value
    "transcript": [{"role": "agent", "message": "hi", "time_in_call_secs": 0, "brand_new": {"x": [1, 2]},
                    "tool_calls": [{"request_id": "r", "tool_name": "t", "params_as_json": "{}",
                                    "tool_has_been_called": True, "type": "quantum"}]}],
    "metadata": {"start_time_unix_secs": 1, "call_duration_secs": 2, "phone_call": {"direction": "inbound"}},
    "analysis": {"call_successful": "maybe", "transcript_summary": "s", "scoped": []},
    "has_audio": False, "otlp_traces": {"a": 1},
}


def test_round_trip_keeps_unknown_fields_and_values():
    model = Conversation.model_validate(CONV)
    assert model.status == "archived-by-robot"
    assert model.transcript[0].extra_fields == {"brand_new": {"x": [1, 2]}}
    assert model.to_wire() == CONV
    assert json.loads(model.model_dump_json(exclude_unset=True)) == CONV


def test_agent_round_trip_and_accessors():
    raw = {"agent_id": "x", "name": "n", "conversation_config": {
        "agent": {"first_message": "Alo, da?", "language": "ro",
                  "prompt": {"prompt": "p", "llm": "gpt-99-ultra", "temperature": 0.1, "rag": {"enabled": True}}},
        "tts": {"voice_id": "v"}}, "workflow": {"nodes": {}}}
    a = Agent.model_validate(raw)
    assert a.first_message == "Alo, da?" and a.prompt.llm == "gpt-99-ultra" and a.language == "ro"
    assert a.to_wire() == raw


def test_invocation_counts_and_unknown_status():
    inv = TestInvocation.model_validate({"id": "i", "test_runs": [
        {"test_run_id": "1", "test_id": "t", "status": "passed"},
        {"test_run_id": "2", "test_id": "t", "status": "queued-somewhere"}]})
    assert inv.counts()["passed"] == 1 and inv.counts()["queued-somewhere"] == 1
    assert not inv.is_finished  # an unknown status is not terminal: keep polling


def test_page_with_extra_top_level_fields():
    page = ConversationsPage.model_validate({"conversations": [], "has_more": False, "next_cursor": None,
                                             "total_estimate": 5})
    assert page.extra_fields == {"total_estimate": 5}
