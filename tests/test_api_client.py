"""The real client against the real emulator on a loopback port."""

from __future__ import annotations

import time

import pytest

from convai_tui.api import errors as E
from convai_tui.api.client import ConvAIClient
from convai_tui.api.models import (
    AgentTestBody,
    AgentUpdate,
    BranchCreate,
    EvaluationCriterion,
    PromptConfig,
    RunTestsRequest,
    SimulatedUserConfig,
    SimulationRequest,
    SimulationSpecification,
    TestRef,
    ToolMockConfig,
    prompt_patch,
)
from convai_tui.api.stream import FinalEvent, TurnsEvent

from helpers import add_fault, fast_client

BELLA = "agent_dental_bella"


def sim_request(persona: str = "You want to book an appointment on Monday at 10 AM.", **kw) -> SimulationRequest:
    return SimulationRequest(
        simulation_specification=SimulationSpecification(
            simulated_user_config=SimulatedUserConfig(prompt=PromptConfig(prompt=persona)), **kw.pop("spec", {})),
        **kw)


# ------------------------------------------------------------------ agents and branches
async def test_list_and_get_agents(client):
    page = await client.list_agents()
    names = {a.name for a in page.agents}
    assert {"Bella Dental Reception", "Asistent Programări Sanitas", "Acme Store Support"} <= names
    ro = await client.get_agent("agent_sanitas_ro")
    assert ro.first_message == "Alo, da?"
    assert ro.language == "ro"
    assert ro.version_id and ro.branch_id == ro.main_branch_id
    assert "română" in ro.prompt.prompt


async def test_agent_pagination_with_small_pages(client):
    ids = [a.agent_id async for a in client.iter_agents(page_size=1)]
    assert len(ids) == len(set(ids)) == 3


async def test_patch_prompt_creates_a_version_and_persists(fresh_emulator):
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        before = await c.get_agent(BELLA)
        after = await c.update_agent(BELLA, AgentUpdate(conversation_config=prompt_patch("New prompt", temperature=0.2)))
        assert after.prompt.prompt == "New prompt"
        assert after.prompt.temperature == 0.2
        assert after.prompt.llm == before.prompt.llm  # partial update keeps the rest
        assert after.version_id != before.version_id
        again = await c.get_agent(BELLA)
        assert again.prompt.prompt == "New prompt"
        old = await c.get_agent(BELLA, version_id=before.version_id)
        assert old.prompt.prompt == before.prompt.prompt


async def test_branches_create_get_update_merge(fresh_emulator):
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        agent = await c.get_agent(BELLA)
        made = await c.create_branch(BELLA, BranchCreate(parent_version_id=agent.version_id, name="exp",
                                                         description="experiment"))
        branches = (await c.list_branches(BELLA)).results
        assert "exp" in {b.name for b in branches}
        await c.update_agent(BELLA, AgentUpdate(conversation_config=prompt_patch("Branch prompt")),
                             branch_id=made.created_branch_id)
        on_branch = await c.get_agent(BELLA, branch_id=made.created_branch_id)
        assert on_branch.prompt.prompt == "Branch prompt"
        assert (await c.get_agent(BELLA)).prompt.prompt == agent.prompt.prompt  # main untouched
        br = await c.get_branch(BELLA, made.created_branch_id)
        assert br.most_recent_versions and len(br.most_recent_versions) == 2
        await c.merge_branch(BELLA, made.created_branch_id, agent.main_branch_id, archive_source_branch=True)
        assert (await c.get_agent(BELLA)).prompt.prompt == "Branch prompt"
        assert "exp" not in {b.name for b in (await c.list_branches(BELLA)).results}


# ------------------------------------------------------------------ errors
async def test_wrong_key_is_401_and_never_echoed(emulator):
    secret = "sk_thisisnotthekey_1234567890"
    async with ConvAIClient(secret, base_url=emulator.base_url) as c:
        with pytest.raises(E.AuthenticationError) as ei:
            await c.list_agents()
    text = str(ei.value) + repr(ei.value)
    assert "401" in text and "ELEVENLABS_API_KEY" in text
    assert secret not in text
    assert secret not in repr(c)


async def test_missing_key_is_401(emulator):
    async with ConvAIClient(base_url=emulator.base_url, require_key=False, api_key="") as c:
        with pytest.raises(E.AuthenticationError):
            await c.get_agent(BELLA)


def test_no_key_configured_is_a_config_error(monkeypatch):
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    with pytest.raises(E.ConfigError, match="ELEVENLABS_API_KEY"):
        ConvAIClient()


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("ELEVENLABS_BASE_URL", "http://127.0.0.1:9/")
    c = ConvAIClient("k")
    assert c.base_url == "http://127.0.0.1:9"


async def test_unknown_ids_are_404(client):
    with pytest.raises(E.NotFoundError, match="agent_nope"):
        await client.get_agent("agent_nope")
    with pytest.raises(E.NotFoundError):
        await client.get_conversation("conv_nope")
    with pytest.raises(E.NotFoundError):
        await client.get_invocation("inv_nope")


async def test_invalid_body_is_422_with_detail(client):
    with pytest.raises(E.ValidationError) as ei:
        await client.update_agent(BELLA, {"conversation_config": {"agent": {"prompt": {"temperature": "hot"}}}})
    err = ei.value
    assert err.status_code == 422
    assert any(e["loc"][-1] == "temperature" for e in err.errors)
    assert "temperature" in str(err)


async def test_run_tests_unknown_test_is_422(client):
    with pytest.raises(E.ValidationError) as ei:
        await client.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_missing")]))
    assert ei.value.errors[0]["loc"] == ["body", "tests", 0, "test_id"]


async def test_429_with_retry_after_then_success(fresh_emulator):
    add_fault(fresh_emulator, kind="status", status=429, retry_after=0.05, path="/v1/convai/agents", count=2)
    async with fast_client(fresh_emulator) as c:
        t0 = time.monotonic()
        page = await c.list_agents()
        assert len(page.agents) == 3
        assert c.retry_count == 2
        assert time.monotonic() - t0 >= 0.1  # Retry-After was honoured twice


async def test_5xx_exhausted_gives_server_error(fresh_emulator):
    add_fault(fresh_emulator, kind="status", status=503, path="/v1/convai/agents", count=-1)
    async with fast_client(fresh_emulator, max_retries=2) as c:
        with pytest.raises(E.ServerError, match="503"):
            await c.list_agents()
        assert c.request_count == 3


async def test_run_tests_post_is_never_silently_resent(fresh_emulator):
    add_fault(fresh_emulator, kind="status", status=503, path="/v1/convai/agents/agent_dental_bella/run-tests",
              count=1)
    async with fast_client(fresh_emulator) as c:
        history = [i.id for i in (await c.list_invocations()).results]  # the seeded run history
        with pytest.raises(E.ServerError):
            await c.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_polite")]))
        assert c.request_count == 2
        assert [i.id for i in (await c.list_invocations()).results] == history


async def test_connection_refused_is_clear(emulator):
    from convai_tui.emulator.server import free_port
    async with ConvAIClient("k", base_url=f"http://127.0.0.1:{free_port()}", max_retries=1,
                            backoff_base=0.01) as c:
        with pytest.raises(E.APIConnectionError, match="cannot connect"):
            await c.list_agents()


async def test_malformed_json_body_is_reported(fresh_emulator):
    add_fault(fresh_emulator, kind="malformed", path="/v1/convai/agents", count=1)
    async with fast_client(fresh_emulator) as c:
        with pytest.raises(E.APIStatusError, match="invalid JSON"):
            await c.list_agents()


# ------------------------------------------------------------------ conversations
async def test_pagination_over_all_conversations_no_duplicates_or_gaps(client, emulator):
    got = [c.conversation_id async for c in client.iter_conversations(page_size=100)]
    expected = [c.id for c in emulator.state.convs if not c.deleted]
    assert len(got) == len(set(got)) == len(expected) >= 2000
    assert got == expected


async def test_filters_and_agent_scope(client):
    page = await client.list_conversations(agent_id="agent_sanitas_ro", call_successful="failure", page_size=50)
    assert page.conversations
    assert all(c.agent_id == "agent_sanitas_ro" and c.call_successful == "failure" for c in page.conversations)
    starts = [c.start_time_unix_secs for c in page.conversations]
    assert starts == sorted(starts, reverse=True)
    cutoff = starts[len(starts) // 2]
    older = await client.list_conversations(agent_id="agent_sanitas_ro", call_start_before_unix=cutoff)
    assert all(c.start_time_unix_secs < cutoff for c in older.conversations)


async def test_conversation_detail_has_romanian_transcript_and_analysis(client):
    page = await client.list_conversations(agent_id="agent_sanitas_ro", page_size=5)
    conv = await client.get_conversation(page.conversations[0].conversation_id)
    assert conv.transcript[0].message == "Alo, da?"
    assert conv.metadata.start_time_unix_secs == page.conversations[0].start_time_unix_secs
    assert len(conv.transcript) == page.conversations[0].message_count


async def test_text_search_pages(client):
    first = await client.search_messages("programare", agent_id="agent_sanitas_ro", page_size=10)
    assert len(first.results) == 10 and first.has_more
    assert all("programare" in r.chunk_text.lower() for r in first.results)
    second = await client.search_messages("programare", agent_id="agent_sanitas_ro", page_size=10,
                                          cursor=first.next_cursor)
    keys = {(r.conversation_id, r.transcript_index) for r in first.results + second.results}
    assert len(keys) == 20


async def test_feedback_and_delete(fresh_emulator):
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        conv = (await c.list_conversations(page_size=1)).conversations[0]
        await c.send_feedback(conv.conversation_id, "like")
        detail = await c.get_conversation(conv.conversation_id)
        assert detail.metadata.feedback.overall_score == "like"
        await c.delete_conversation(conv.conversation_id)
        with pytest.raises(E.NotFoundError):
            await c.get_conversation(conv.conversation_id)


# ------------------------------------------------------------------ simulation
async def test_simulate_plain(client):
    req = sim_request(extra_evaluation_criteria=[
        EvaluationCriterion(id="polite", name="Polite", conversation_goal_prompt="The agent was polite.")])
    resp = await client.simulate(BELLA, req)
    assert resp.simulated_conversation[0].role == "agent"
    assert resp.analysis.evaluation_criteria_results["polite"].result == "success"
    assert any(t.tool_calls for t in resp.simulated_conversation)


async def test_stream_delivers_first_event_before_the_last_is_produced(emulator, client):
    # 20 ms between turns on the server: the first event must arrive long before the end.
    t0 = time.monotonic()
    stamps = []
    events = []
    async for ev in client.simulate_stream(BELLA, sim_request()):
        stamps.append(time.monotonic() - t0)
        events.append(ev)
    assert isinstance(events[-1], FinalEvent)
    turns = [t for ev in events if isinstance(ev, TurnsEvent) for t in ev.turns]
    assert len(turns) >= 6
    assert turns == events[-1].simulated_conversation
    assert stamps[0] < stamps[-1] - 0.02 * (len(turns) - 2)


async def test_turn_limit_and_tool_mocks(client):
    req = sim_request(new_turns_limit=3)
    resp = await client.simulate(BELLA, req)
    assert len(resp.simulated_conversation) == 3
    req = sim_request(spec={"tool_mock_config": {"book_appointment": ToolMockConfig(default_return_value="down",
                                                                                    default_is_error=True)}})
    resp = await client.simulate(BELLA, req)
    results = [r for t in resp.simulated_conversation for r in t.tool_results or []]
    assert any(r.tool_name == "book_appointment" and r.is_error and r.result_value == "down" for r in results)
    assert resp.analysis.call_successful == "failure"


async def test_prompt_edit_changes_the_simulation(fresh_emulator):
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        crit = [EvaluationCriterion(id="c", name="c", conversation_goal_prompt="The agent confirms the booking time")]
        before = await c.simulate(BELLA, sim_request(extra_evaluation_criteria=crit))
        agent = await c.get_agent(BELLA)
        await c.update_agent(BELLA, AgentUpdate(conversation_config=prompt_patch(
            agent.prompt.prompt + "\nAlways confirm the booking time.")))
        after = await c.simulate(BELLA, sim_request(extra_evaluation_criteria=crit))
        assert before.analysis.evaluation_criteria_results["c"].result == "failure"
        assert after.analysis.evaluation_criteria_results["c"].result == "success"
        assert [t.message for t in before.simulated_conversation] != [t.message for t in after.simulated_conversation]


async def test_stream_cut_keeps_partial_transcript(fresh_emulator):
    add_fault(fresh_emulator, kind="cut", path="/v1/convai/agents/agent_dental_bella/simulate-conversation/stream",
              after_events=3)
    async with fast_client(fresh_emulator) as c:
        with pytest.raises(E.StreamInterrupted) as ei:
            async for _ in c.simulate_stream(BELLA, sim_request()):
                pass
    assert len(ei.value.partial) == 3
    assert "interrupted after 3 turns" in str(ei.value)


async def test_stream_malformed_line_is_an_interruption(fresh_emulator):
    add_fault(fresh_emulator, kind="malformed",
              path="/v1/convai/agents/agent_dental_bella/simulate-conversation/stream", after_events=2)
    async with fast_client(fresh_emulator) as c:
        with pytest.raises(E.StreamInterrupted) as ei:
            async for _ in c.simulate_stream(BELLA, sim_request()):
                pass
    assert len(ei.value.partial) == 2


# ------------------------------------------------------------------ tests and invocations
async def test_tests_crud(fresh_emulator):
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        all_tests = [t async for t in c.iter_tests(page_size=5)]
        assert len(all_tests) >= 12
        assert {"llm", "tool", "simulation"} <= {t.type for t in all_tests}
        made = await c.create_test(AgentTestBody(name="Says goodbye", type="llm", success_condition="The agent says goodbye",
                                                 chat_history=[{"role": "user", "message": "bye", "time_in_call_secs": 1}]))
        got = await c.get_test(made.id)
        assert got.name == "Says goodbye" and got.chat_history[0].message == "bye"
        got2 = await c.update_test(made.id, AgentTestBody(**{**got.to_wire(), "name": "Says bye"}))
        assert got2.name == "Says bye"
        await c.delete_test(made.id)
        with pytest.raises(E.NotFoundError):
            await c.get_test(made.id)
        with pytest.raises(E.ValidationError, match="success_condition"):
            await c.create_test(AgentTestBody(name="bad", type="llm"))


async def test_run_tests_poll_until_terminal(client):
    inv = await client.run_tests(BELLA, RunTestsRequest(
        tests=[TestRef(test_id="test_bella_confirms"), TestRef(test_id="test_bella_polite"),
               TestRef(test_id="test_bella_sim_booking")], repeat_count=2))
    assert len(inv.test_runs) == 6
    assert all(r.status == "pending" for r in inv.test_runs)
    snapshots = [i async for i in client.poll_invocation(inv.id, initial_interval=0.05)]
    final = snapshots[-1]
    assert final.is_finished
    by_test = {r.test_id: r.status for r in final.test_runs}
    assert by_test["test_bella_confirms"] == "failed"
    assert by_test["test_bella_polite"] == "passed"
    sim = next(r for r in final.test_runs if r.test_id == "test_bella_sim_booking")
    assert len(sim.agent_responses) > 4  # the simulated dialogue
    assert sim.condition_result.rationale.messages


async def test_draft_override_and_branch_change_verdicts(client):
    agent = await client.get_agent(BELLA)
    from convai_tui.api.models import AgentConfigOverride
    override = AgentConfigOverride(conversation_config=prompt_patch(agent.prompt.prompt + "\nAlways confirm the booking time."))
    inv = await client.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_confirms")],
                                                        agent_config_override=override))
    final = [i async for i in client.poll_invocation(inv.id, initial_interval=0.05)][-1]
    assert final.test_runs[0].status == "passed"
    inv = await client.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_confirms")],
                                                        branch_id="agtbrch_bella_confirm"))
    final = [i async for i in client.poll_invocation(inv.id, initial_interval=0.05)][-1]
    assert final.test_runs[0].status == "passed"


async def test_cancel_makes_pending_runs_cancelled(client):
    inv = await client.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_polite")], repeat_count=5))
    await client.cancel_invocation(inv.id)
    got = await client.get_invocation(inv.id)
    assert got.cancelled and {r.status for r in got.test_runs} == {"cancelled"}


async def test_poller_survives_transient_errors(fresh_emulator):
    async with fast_client(fresh_emulator) as c:
        inv = await c.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_polite")]))
        add_fault(fresh_emulator, kind="status", status=502, path="/v1/convai/test-invocations", count=6)
        snaps = [i async for i in c.poll_invocation(inv.id, initial_interval=0.02)]
        assert snaps[-1].is_finished


# ------------------------------------------------------------------ the deprecated road is gone
async def test_endpoint_gone_and_simulation_test_road():
    from convai_tui.api.simulations import Finished, NewTurns, RoadChosen, run_simulation
    from convai_tui.emulator.server import EmulatorServer
    from convai_tui.emulator.state import EmulatorConfig

    with EmulatorServer(EmulatorConfig(legacy_simulate=False, test_delay_ms=100, conversations=50)) as srv:
        async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
            with pytest.raises(E.EndpointGone):
                async for _ in c.simulate_stream(BELLA, sim_request()):
                    pass
            req = sim_request(extra_evaluation_criteria=[EvaluationCriterion(
                id="books", name="Books", conversation_goal_prompt="The agent books the appointment.")])
            updates = [u async for u in run_simulation(c, BELLA, req)]
            roads = [u for u in updates if isinstance(u, RoadChosen)]
            assert roads and roads[-1].road == "test"
            assert any(isinstance(u, NewTurns) for u in updates)
            fin = updates[-1]
            assert isinstance(fin, Finished) and fin.road == "test"
            assert fin.response.analysis.evaluation_criteria_results["books"].result == "success"
            assert len(fin.response.simulated_conversation) > 4
            # the temporary test was cleaned up
            names = [t.name async for t in c.iter_tests()]
            assert not any(n.startswith("convai-tui simulation") for n in names)


async def test_auto_road_prefers_the_stream(client):
    from convai_tui.api.simulations import Finished, RoadChosen, run_simulation
    updates = [u async for u in run_simulation(client, BELLA, sim_request())]
    assert isinstance(updates[0], RoadChosen) and updates[0].road == "stream"
    assert isinstance(updates[-1], Finished)


async def test_remaining_endpoints_happy_paths(fresh_emulator):
    """versions, merge-preview, test summaries, invocation list and resubmit, through the client."""
    srv = fresh_emulator
    async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
        agent = await c.get_agent(BELLA)
        v = await c.get_version(BELLA, agent.version_id)
        assert v.id == agent.version_id and v.branch_id == agent.main_branch_id and v.time_committed_secs
        preview = await c.merge_preview(BELLA, "agtbrch_bella_confirm", agent.main_branch_id)
        assert preview.prompt.prompt.endswith("Always confirm the booking time back to the caller.")
        assert (await c.test_summaries(["test_bella_polite", "nope"])).tests.keys() == {"test_bella_polite"}
        inv = await c.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_confirms")]))
        final = [i async for i in c.poll_invocation(inv.id, initial_interval=0.05)][-1]
        assert final.test_runs[0].status == "failed"
        listed = await c.list_invocations(agent_id=BELLA)
        assert listed.results[0].id == inv.id and listed.results[0].failed_count == 1
        from convai_tui.api.models import AgentConfigOverride
        from convai_tui.api.models import prompt_patch as pp
        override = AgentConfigOverride(conversation_config=pp(agent.prompt.prompt + "\nAlways confirm the booking time."))
        await c.resubmit_invocation(inv.id, [final.test_runs[0].test_run_id], agent_id=BELLA,
                                    agent_config_override=override)
        again = [i async for i in c.poll_invocation(inv.id, initial_interval=0.05)][-1]
        assert again.test_runs[0].status == "passed"  # resubmitted against the draft that confirms
