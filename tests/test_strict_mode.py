"""Strict mode: the emulator refuses (JSON 422/404/405) any query parameter, body field or operation the
published document does not define, so a client test against it is also a request-conformance check.
And every ConvAIClient method, with its parameters set, passes it."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import httpx
import pytest

from convai_tui.api import errors as E
from convai_tui.api.client import ConvAIClient
from convai_tui.api.models import (
    AgentConfigOverride,
    AgentTestBody,
    AgentUpdate,
    BranchCreate,
    PromptConfig,
    RunTestsRequest,
    SimulatedUserConfig,
    SimulationRequest,
    SimulationSpecification,
    TestRef,
    prompt_patch,
)
from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig

BELLA = "agent_dental_bella"


def sim_request() -> SimulationRequest:
    """As the workspace's scenarios build it: unset fields explicitly None (the API forbids null there)."""
    return SimulationRequest(
        simulation_specification=SimulationSpecification(
            simulated_user_config=SimulatedUserConfig(prompt=PromptConfig(prompt="You want to book on Monday at 10 AM."),
                                                      first_message=None, language=None),
            tool_mock_config=None, partial_conversation_history=None),
        extra_evaluation_criteria=None, new_turns_limit=12)


@pytest.fixture()
def raw(emulator):
    with httpx.Client(base_url=emulator.base_url, headers={"xi-api-key": emulator.api_key}) as c:
        yield c


def test_an_unknown_query_parameter_is_refused(raw):
    """The client's old like/dislike filter: the API has no such parameter, the strict emulator says so."""
    r = raw.get("/v1/convai/conversations", params={"agent_id": BELLA, "feedback": "like"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["query", "feedback"], "type": "extra_forbidden",
                                   "msg": "Unknown query parameter 'feedback': the published API does not define "
                                          "it for GET /v1/convai/conversations."}]


def test_the_client_cannot_send_it_either(client):
    with pytest.raises(TypeError):
        client.list_conversations(agent_id=BELLA, feedback="like")  # type: ignore[call-arg]


def test_an_invalid_value_of_a_documented_parameter_is_refused(raw):
    r = raw.get("/v1/convai/conversations", params={"rating_min": "4.5"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "rating_min"]
    r = raw.get(f"/v1/convai/agents/{BELLA}/branches", params={"limit": 1})  # the document: exclusiveMinimum 1
    assert r.status_code == 422


def test_an_undeclared_body_field_is_refused(raw):
    r = raw.post("/v1/convai/agent-testing/summaries", json={"test_ids": ["test_bella_polite"], "extra": 1})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "extra"] and r.json()["detail"][0]["type"] == "extra_forbidden"
    r = raw.post(f"/v1/convai/agents/{BELLA}/run-tests",
                 json={"tests": [{"test_id": "test_bella_polite", "weight": 2}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "tests", 0, "weight"]


def test_a_body_the_document_forbids_is_refused_with_where(raw):
    r = raw.post(f"/v1/convai/agents/{BELLA}/run-tests", json={"tests": [{"test_id": "t"}],
                                                               "agent_config_override": {"conversation_config": {}}})
    assert r.status_code == 422
    assert any(e["loc"] == ["body", "agent_config_override"] and "platform_settings" in e["msg"]
               for e in r.json()["detail"])
    r = raw.post("/v1/convai/agent-testing/summaries", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


def test_operations_the_document_does_not_have(raw):
    r = raw.get(f"/v1/convai/agents/{BELLA}/widget")
    assert r.status_code == 404 and r.json()["detail"]["status"] == "not_found"
    r = raw.delete(f"/v1/convai/agents/{BELLA}")
    assert r.status_code == 405 and r.json()["detail"]["status"] == "method_not_allowed"


def test_the_sdk_only_cancel_is_served_and_takes_nothing(raw):
    inv = raw.post(f"/v1/convai/agents/{BELLA}/run-tests", json={"tests": [{"test_id": "test_bella_polite"}]}).json()
    r = raw.post(f"/v1/convai/test-invocations/{inv['id']}/cancel", json={"now": True})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    assert raw.post(f"/v1/convai/test-invocations/{inv['id']}/cancel").status_code == 200


def test_outside_strict_mode_unknown_parameters_are_ignored():
    with EmulatorServer(EmulatorConfig(conversations=20)) as srv:
        r = httpx.get(f"{srv.base_url}/v1/convai/conversations", params={"feedback": "like"},
                      headers={"xi-api-key": srv.api_key})
        assert r.status_code == 200 and r.json()["conversations"]


def test_strict_mode_costs_the_default_start_up_nothing():
    """Without strict mode neither the checker nor jsonschema is imported (the demo's start-up is benchmarked)."""
    code = textwrap.dedent("""
        import sys
        from convai_tui.emulator.server import EmulatorServer
        from convai_tui.emulator.state import EmulatorConfig
        with EmulatorServer(EmulatorConfig(conversations=10)) as srv:
            import httpx
            httpx.get(srv.base_url + "/v1/convai/agents", headers={"xi-api-key": srv.api_key}).raise_for_status()
        print("jsonschema" in sys.modules, "convai_tui.emulator.openapi" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


# --------------------------------------------------------------------------- every client method
async def test_every_client_method_is_valid_for_the_published_api(fresh_emulator):
    """Each public ConvAIClient method, with its optional parameters set, against the strict emulator:
    a parameter or body field the API does not define would fail here with a 422."""
    called: set[str] = set()
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        def mark(name: str) -> None:
            called.add(name)

        agents = await c.list_agents(page_size=2, search="a"); mark("list_agents")
        assert [a async for a in c.iter_agents(page_size=1)]; mark("iter_agents")
        agent = await c.get_agent(BELLA); mark("get_agent")
        await c.get_agent(BELLA, branch_id=agent.main_branch_id, version_id=agent.version_id)
        after = await c.update_agent(BELLA, AgentUpdate(conversation_config=prompt_patch(agent.prompt.prompt + "\nBe polite."),
                                                        version_description="strict"), branch_id=agent.main_branch_id)
        mark("update_agent")
        await c.get_version(BELLA, after.version_id or ""); mark("get_version")
        branches = await c.list_branches(BELLA, include_archived=True, limit=50, include_commit_status=True)
        mark("list_branches")
        await c.get_branch(BELLA, branches.results[0].id); mark("get_branch")
        made = await c.create_branch(BELLA, BranchCreate(parent_version_id=after.version_id or "", name="strict",
                                                         conversation_config=prompt_patch("Short.")))
        mark("create_branch")
        await c.merge_preview(BELLA, made.created_branch_id, agent.main_branch_id or "", force=True)
        mark("merge_preview")
        await c.merge_branch(BELLA, made.created_branch_id, agent.main_branch_id or "", force=False)
        mark("merge_branch")
        # the API archives a merged branch unless told not to: the client always says what it wants
        assert not (await c.get_branch(BELLA, made.created_branch_id)).is_archived
        assert agents.agents
        resp = await c.simulate(BELLA, sim_request()); mark("simulate")
        assert resp.simulated_conversation
        assert [ev async for ev in c.simulate_stream(BELLA, sim_request())]; mark("simulate_stream")
        everything = dict(agent_id=BELLA, branch_id=agent.main_branch_id, version_id=agent.version_id,
                          call_successful="success", call_start_before_unix=1795300000,
                          call_start_after_unix=1780000000, call_duration_min_secs=1, call_duration_max_secs=3600,
                          rating_min=1, rating_max=5, has_feedback_comment=False, tool_names=["book_appointment"],
                          main_languages=["en"], evaluation_params=["polite:success"],
                          termination_reasons=["end_call tool was called."], exclude_statuses=["failed"])
        page = await c.list_conversations(page_size=5, evaluation_criteria_ids=["polite"],
                                          data_collection_ids=["caller_name"], search="book", summary_mode="include",
                                          sort_direction="asc", **everything)
        mark("list_conversations")
        page = await c.list_conversations(agent_id=BELLA, page_size=5)
        assert [x async for x in c.iter_conversations(agent_id=BELLA, limit=3)]; mark("iter_conversations")
        await c.search_messages("book", page_size=5, sort_by="created_at", **everything); mark("search_messages")
        assert [x async for x in c.iter_search_messages("book", agent_id=BELLA, limit=3)]
        mark("iter_search_messages")
        cid = page.conversations[0].conversation_id
        await c.get_conversation(cid); mark("get_conversation")
        await c.send_feedback(cid, "like"); await c.send_feedback(cid, None); mark("send_feedback")
        await c.delete_conversation(page.conversations[-1].conversation_id); mark("delete_conversation")
        created = await c.create_test(AgentTestBody(name="strict", type="llm", success_condition="Polite.",
                                                    chat_history=[{"role": "user", "message": "Hi",
                                                                   "time_in_call_secs": 0}]))
        mark("create_test")
        got = await c.get_test(created.id); mark("get_test")
        await c.update_test(created.id, got); mark("update_test")  # read back, sent again: no id in the body
        await c.list_tests(page_size=5, search="s", types=["llm", "tool"]); mark("list_tests")
        assert [t async for t in c.iter_tests()]; mark("iter_tests")
        await c.test_summaries([created.id, created.id]); mark("test_summaries")
        override = AgentConfigOverride(conversation_config=prompt_patch("Always confirm the booking time."))
        inv = await c.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id=created.id)], repeat_count=2,
                                                       branch_id=agent.main_branch_id, agent_config_override=override,
                                                       name="strict"))
        mark("run_tests")
        final = [i async for i in c.poll_invocation(inv.id, initial_interval=0.05)][-1]; mark("poll_invocation")
        await c.get_invocation(inv.id); mark("get_invocation")
        await c.resubmit_invocation(inv.id, [final.test_runs[0].test_run_id], agent_id=BELLA,
                                    branch_id=agent.main_branch_id, agent_config_override=override)
        mark("resubmit_invocation")
        await c.list_invocations(agent_id=BELLA, page_size=3, search="strict"); mark("list_invocations")
        assert [i async for i in c.iter_invocations(agent_id=BELLA, limit=4)]; mark("iter_invocations")
        await c.cancel_invocation(inv.id); mark("cancel_invocation")
        await c.delete_test(created.id); mark("delete_test")
        with pytest.raises(E.NotFoundError):
            await c.get_test(created.id)
    public = {n for n, f in inspect.getmembers(ConvAIClient, inspect.isfunction) if not n.startswith("_")}
    scopes = {"deadline", "rate_limits_to_caller"}  # context managers that send nothing themselves
    assert public - {"aclose"} - scopes - called == set()
