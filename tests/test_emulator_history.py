"""What later features need from the emulator, on a real loopback port with the real client:
run history per agent (#15), live-call evidence per version (#16), measurement at real latency and
scale (#17), and the emulator's own hardening (#13)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict

import httpx
import pytest

from convai_tui.api import errors as E
from convai_tui.api.client import ConvAIClient
from convai_tui.api.models import AgentConfigOverride, RunTestsRequest, TestRef, prompt_patch
from convai_tui.cli import main
from convai_tui.emulator import seed as S
from convai_tui.emulator.faults import Fault
from convai_tui.emulator.server import EmulatorServer, bind
from convai_tui.emulator.state import EmulatorConfig, EmulatorState

BELLA, SANITAS, ACME = "agent_dental_bella", "agent_sanitas_ro", "agent_acme_support"
CONFIRM = "agtbrch_bella_confirm"


# --------------------------------------------------------------------------- #15 run history
async def test_run_history_pages_per_agent_newest_first(client):
    pages, cursor = [], None
    while True:
        page = await client.list_invocations(agent_id=BELLA, page_size=2, cursor=cursor)
        pages.append(page)
        if not page.has_more:
            break
        cursor = page.next_cursor
    items = [i for p in pages for i in p.results]
    assert len(pages) >= 3 and all(len(p.results) <= 2 for p in pages)
    assert {i.agent_id for i in items} == {BELLA}
    stamps = [i.created_at_unix_secs for i in items]
    assert stamps == sorted(stamps, reverse=True)
    seeded = [i for i in items if i.created_at_unix_secs <= S.SEED_NOW]
    assert len(seeded) == sum(1 for h in S.INVOCATION_HISTORY if h[0] == BELLA)
    assert {i.branch_id for i in seeded} == {"agtbrch_dental_bella_main", CONFIRM}  # main and a branch
    for i in seeded:
        assert i.version_id and i.title and i.test_run_count == i.passed_count + i.failed_count
        assert i.pending_count == 0 and i.repeat_count >= 1 and i.ran_against_draft is False


async def test_a_past_run_is_pinned_to_the_version_live_at_the_time(client):
    """The seeded run of 20 days ago ran on the version that read the booking time back: its
    'Confirms the booking' passed; the same test fails on today's main."""
    agent = await client.get_agent(BELLA)
    history = [i async for i in client.iter_invocations(agent_id=BELLA)]
    old = next(i for i in history if i.created_at_unix_secs == int(S.SEED_NOW - 20.3 * S.DAY))
    recent = next(i for i in history if i.created_at_unix_secs == int(S.SEED_NOW - 6.2 * S.DAY))
    assert old.version_id != agent.version_id and recent.version_id == agent.version_id
    v = await client.get_version(BELLA, old.version_id)
    assert "Always confirm the booking time." in (await client.get_agent(BELLA, version_id=v.id)).prompt.prompt

    def verdict(inv):
        return next(r.status for r in inv.test_runs if r.test_id == "test_bella_confirms")

    assert verdict(await client.get_invocation(old.id)) == "passed"
    assert verdict(await client.get_invocation(recent.id)) == "failed"


def test_the_seeded_history_is_deterministic():
    a, b = EmulatorState(EmulatorConfig(conversations=10)), EmulatorState(EmulatorConfig(conversations=10))
    ja = [i.to_json() for i in a.invocations_of(None)]
    jb = [i.to_json() for i in b.invocations_of(None)]
    for x in ja + jb:  # the only wall-clock field: when a seeded run was last updated is its creation
        assert all(r["last_updated_at_unix"] <= S.SEED_NOW for r in x["test_runs"])
    assert ja == jb


async def test_resubmit_reruns_the_runs_on_the_given_target_and_shows_the_new_results(fresh_emulator):
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        agent = await c.get_agent(BELLA)
        inv = await c.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_confirms"),
                                                              TestRef(test_id="test_bella_polite")]))
        done = [i async for i in c.poll_invocation(inv.id, initial_interval=0.05)][-1]
        confirm = next(r for r in done.test_runs if r.test_id == "test_bella_confirms")
        polite = next(r for r in done.test_runs if r.test_id == "test_bella_polite")
        assert confirm.status == "failed" and confirm.version_id == agent.version_id
        # 1. on the branch that confirms the time
        await c.resubmit_invocation(inv.id, [confirm.test_run_id], agent_id=BELLA, branch_id=CONFIRM)
        first = await c.get_invocation(inv.id)
        assert next(r for r in first.test_runs if r.test_run_id == confirm.test_run_id).status == "pending"
        again = [i async for i in c.poll_invocation(inv.id, initial_interval=0.05)][-1]
        run = next(r for r in again.test_runs if r.test_run_id == confirm.test_run_id)
        assert run.status == "passed" and run.branch_id == CONFIRM and run.version_id != agent.version_id
        untouched = next(r for r in again.test_runs if r.test_run_id == polite.test_run_id)
        assert untouched.status == polite.status and untouched.version_id == agent.version_id
        listed = [i async for i in c.iter_invocations(agent_id=BELLA) if i.id == inv.id][0]
        assert listed.runs_diverged_from_version is True and listed.passed_count == 1 + (polite.status == "passed")
        # 2. with an ad-hoc override (a local draft) that drops the read-back again: it fails again
        override = AgentConfigOverride(conversation_config=prompt_patch(agent.prompt.prompt))
        await c.resubmit_invocation(inv.id, [confirm.test_run_id], agent_id=BELLA, agent_config_override=override)
        third = [i async for i in c.poll_invocation(inv.id, initial_interval=0.05)][-1]
        run = next(r for r in third.test_runs if r.test_run_id == confirm.test_run_id)
        assert run.status == "failed" and run.ran_against_draft is True
        with pytest.raises(E.ValidationError, match="test_run_ids"):
            await c.resubmit_invocation(inv.id, ["run_nope"], agent_id=BELLA)
        with pytest.raises(E.ValidationError, match="agent_id"):
            await c.resubmit_invocation(inv.id, [confirm.test_run_id], agent_id=ACME)


# --------------------------------------------------------------------------- #16 evidence per version
def _state() -> EmulatorState:
    return EmulatorState(EmulatorConfig(conversations=3000))


def test_each_demo_agent_has_a_version_history_across_the_call_history():
    st = _state()
    for aid, steps in S.MAIN_HISTORY.items():
        main = st.agents[aid].main
        assert len(main.versions) == len(steps) >= 3
        times = [v.time_committed_secs for v in main.versions]
        assert times == sorted(times) and times[-1] > S.SEED_NOW - 120 * S.DAY  # commits within the history
        assert [v.seq_no_in_branch for v in main.versions] == list(range(len(steps)))
        assert [v.parents["in_branch_parent_id"] for v in main.versions] == [None] + [v.id for v in main.versions[:-1]]
        prompts = {v.conversation_config["agent"]["prompt"]["prompt"] for v in main.versions}
        assert len(prompts) == len(steps)  # each commit changes the prompt
        tip = next(a for a in S.AGENTS if a["agent_id"] == aid)["conversation_config"]
        assert main.tip.conversation_config["agent"]["prompt"]["prompt"] == tip["agent"]["prompt"]["prompt"]


def test_each_conversation_carries_the_version_live_at_its_start():
    st = _state()
    on_branch = Counter()
    for c in st.convs:
        rec = st.agents[c.agent_id]
        branch = rec.branches[c.branch_id]
        v = rec.version(c.version_id)
        assert v is not None and v.branch_id == c.branch_id
        assert branch.at(c.start) is v, c.id  # the newest commit of its branch before the call started
        if c.branch_id != rec.main_branch_id:
            on_branch[c.branch_id] += 1
            start, until, _pct = next(b["traffic"] for b in S.BRANCHES if b["id"] == c.branch_id)
            assert S.SEED_NOW - start * S.DAY <= c.start < S.SEED_NOW - until * S.DAY  # only while it had traffic
    assert on_branch[CONFIRM] > 5 and on_branch["agtbrch_acme_escalate"] > 5


def test_success_and_evaluation_results_genuinely_differ_per_version():
    st = _state()
    by_version: dict[str, list] = defaultdict(list)
    for c in st.by_agent[BELLA]:
        if c.status == "done":
            by_version[c.version_id].append(c)
    main = st.agents[BELLA].main.versions
    confirm_era, tip = main[2], main[3]  # "always confirm the booking time", then dropped again

    def rate(convs, pred):
        return sum(1 for c in convs if pred(c)) / len(convs)

    def criterion(c, cid):
        return c.prof.analysis()["evaluation_criteria_results"][cid]["result"]

    assert rate(by_version[confirm_era.id], lambda c: c.success == "success") > \
        rate(by_version[tip.id], lambda c: c.success == "success") + 0.2
    booking = [c for c in by_version[confirm_era.id] if criterion(c, "confirms_booking") != "unknown"]
    booking_tip = [c for c in by_version[tip.id] if criterion(c, "confirms_booking") != "unknown"]
    assert rate(booking, lambda c: criterion(c, "confirms_booking") == "success") == 1.0
    assert rate(booking_tip, lambda c: criterion(c, "confirms_booking") == "success") == 0.0
    # the transcript is that version's: the read-back is in the calls it served, not in today's
    assert any("confirm" in (t.message or "").lower() for c in booking[:5] for t in st.transcript(c) if t.role == "agent")
    assert not any("to confirm" in (t.message or "").lower() for c in booking_tip for t in st.transcript(c)
                   if t.role == "agent")


async def test_the_api_filters_conversations_by_version_and_branch(client, emulator):
    agent = await client.get_agent(BELLA)
    branch = await client.get_branch(BELLA, agent.main_branch_id)
    assert branch.most_recent_versions[0].id == agent.version_id  # the tip is GET agent's version
    older = branch.most_recent_versions[1]
    got = [c async for c in client.iter_conversations(agent_id=BELLA, version_id=older.id)]
    expected = [c.id for c in emulator.state.by_agent[BELLA] if c.version_id == older.id and not c.deleted]
    assert [c.conversation_id for c in got] == expected and got
    assert {c.version_id for c in got} == {older.id}
    on_branch = [c async for c in client.iter_conversations(agent_id=BELLA, branch_id=CONFIRM)]
    assert on_branch and {c.branch_id for c in on_branch} == {CONFIRM}
    detail = await client.get_conversation(on_branch[0].conversation_id)
    assert detail.version_id == on_branch[0].version_id and detail.branch_id == CONFIRM


async def test_conversation_filters_of_the_published_api(client, emulator):
    st = emulator.state
    bella = [c for c in st.by_agent[BELLA] if not c.deleted]
    page = await client.list_conversations(agent_id=BELLA, call_duration_min_secs=30, call_duration_max_secs=45,
                                           page_size=100)
    assert page.conversations and all(30 <= c.call_duration_secs <= 45 for c in page.conversations)
    page = await client.list_conversations(agent_id=BELLA, tool_names=["book_appointment"], page_size=50)
    assert page.conversations and all("book_appointment" in c.tool_names for c in page.conversations)
    page = await client.list_conversations(main_languages=["ro"], page_size=50)
    assert page.conversations and {c.agent_id for c in page.conversations} == {SANITAS}
    page = await client.list_conversations(agent_id=BELLA, has_feedback_comment=True, page_size=100)
    assert [c.conversation_id for c in page.conversations] == [c.id for c in bella if c.comment][:100]
    page = await client.list_conversations(agent_id=BELLA, evaluation_params=["confirms_booking:success"],
                                           evaluation_criteria_ids=["confirms_booking"], page_size=20)
    assert page.conversations
    assert all(c.evaluation_criteria_results["confirms_booking"]["result"] == "success" for c in page.conversations)
    asc = await client.list_conversations(agent_id=BELLA, sort_direction="asc", page_size=5)
    assert [c.conversation_id for c in asc.conversations] == [c.id for c in reversed(bella)][:5]
    page = await client.list_conversations(agent_id=BELLA, rating_min=4, rating_max=5, page_size=30)
    assert all(4 <= c.rating <= 5 for c in page.conversations)
    with_summary = await client.list_conversations(agent_id=BELLA, page_size=3, summary_mode="include")
    without = await client.list_conversations(agent_id=BELLA, page_size=3)
    assert all(c.transcript_summary for c in with_summary.conversations)
    assert all(c.transcript_summary is None for c in without.conversations)


def test_version_ids_are_the_same_on_every_start():
    def ids(st: EmulatorState) -> list[str]:
        return [v.id for rec in st.agents.values() for v in rec.versions()]

    a, b = EmulatorState(EmulatorConfig(conversations=0)), EmulatorState(EmulatorConfig(conversations=0, seed=99))
    assert ids(a) == ids(b) and len(set(ids(a))) == len(ids(a))


# --------------------------------------------------------------------------- #17 measurement
def test_all_conversations_on_one_agent():
    st = EmulatorState(EmulatorConfig(conversations=500, conversations_agent=ACME))
    assert set(st.by_agent) == {ACME} and len(st.by_agent[ACME]) == len(st.convs) == 502
    c = st.by_agent[ACME][0]
    assert st.agents[ACME].version(c.version_id) is not None  # served by Acme's own versions
    with pytest.raises(ValueError, match="not a demo agent"):
        EmulatorState(EmulatorConfig(conversations_agent="agent_nope"))


async def test_latency_with_jitter_is_spent_per_request():
    cfg = EmulatorConfig(conversations=20, latency_ms=60, latency_jitter_ms=40)
    with EmulatorServer(cfg) as srv:
        async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
            await c.list_agents()  # connect first
            times = []
            for _ in range(5):
                t = time.perf_counter()
                await c.list_agents()
                times.append(time.perf_counter() - t)
    assert all(t >= 0.060 for t in times), times
    import random

    rng = random.Random(cfg.seed)
    expected = [60 + rng.uniform(0, 40) for _ in range(6)]  # the seeded jitter: the same on every run
    assert max(expected) - min(expected) > 1


async def test_a_concurrency_limit_answers_429_with_retry_after():
    cfg = EmulatorConfig(conversations=20, latency_ms=800, max_concurrent=2, retry_after_s=1)
    with EmulatorServer(cfg) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url, headers={"xi-api-key": srv.api_key},
                                     limits=httpx.Limits(max_connections=10)) as raw:
            rs = await asyncio.gather(*[raw.get("/v1/convai/agents") for _ in range(6)])
            stats = (await raw.get("/_emulator/stats")).json()
        codes = Counter(r.status_code for r in rs)
        assert stats["max_in_flight"] == 2 and codes[200] >= 2 and codes[429] >= 1 and set(codes) <= {200, 429}
        for r in rs:
            if r.status_code == 429:
                assert r.headers["retry-after"] == "1"
                assert r.json()["detail"]["status"] == "too_many_concurrent_requests"
        assert stats["rejected"] == codes[429]
        # the client waits as told and gets through
        async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
            pages = await asyncio.gather(*[c.list_agents() for _ in range(3)])
            assert all(p.agents for p in pages) and c.retry_count >= 1


# --------------------------------------------------------------------------- #13 hardening
def test_a_busy_port_is_exit_2_with_one_line_and_no_banner(capsys):
    sock = bind("127.0.0.1", 0)
    sock.listen()
    port = sock.getsockname()[1]
    try:
        code = main(["serve-emulator", "--port", str(port), "--conversations", "0"])
    finally:
        sock.close()
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    assert out.err.strip().count("\n") == 0 and f"127.0.0.1:{port}" in out.err and "already in use" in out.err


@pytest.mark.parametrize("spec, message", [
    ("kind=status,status=0", "between 100 and 599"), ("kind=status,status=99", "between 100 and 599"),
    ("kind=status,status=1000", "between 100 and 599"), ("kind=status,count=-2", "count"),
    ("kind=delay,delay_ms=-5", "delay_ms"), ("kind=status,probability=1.5", "probability"),
    ("kind=status,retry_after=-1", "retry_after"), ("kind=cut,after_events=-1", "after_events"),
    ("kind=status,status=abc", "integer"), ("kind=status,method=FETCH", "method"), ("kind=status,path=v1", "path"),
    ("kind=explode", "kind"),
])
def test_fault_specs_are_validated(spec, message, capsys):
    with pytest.raises(ValueError, match=message):
        Fault.parse(spec)
    assert main(["serve-emulator", "--faults", spec]) == 2
    assert message.split()[0] in capsys.readouterr().err


def test_invalid_faults_are_refused_over_http_and_the_connection_survives(fresh_emulator):
    srv = fresh_emulator
    with httpx.Client(base_url=srv.base_url, headers={"xi-api-key": srv.api_key}) as raw:
        for status in (0, 99, 1000):
            r = raw.get("/v1/convai/agents", headers={"x-emulator-fault": f"kind=status,status={status}"})
            assert r.status_code == 422 and "between 100 and 599" in r.json()["detail"][0]["msg"]
            r = raw.post("/_emulator/faults", json={"kind": "status", "status": status})
            assert r.status_code == 422
        assert raw.post("/_emulator/faults", json=["kind=status"]).status_code == 422
        assert raw.get("/_emulator/faults").json()["faults"] == []
        r = raw.get("/v1/convai/agents", headers={"x-emulator-fault": "kind=status,status=418"})
        assert r.status_code == 418 and r.json()["detail"]["status"] == "emulated_fault"
        assert raw.get("/v1/convai/agents").status_code == 200  # same connection, still fine


async def test_a_branch_push_never_undoes_mains_attached_tests(fresh_emulator):
    """platform_settings are versioned per branch: pushing a branch's (older) settings leaves main's alone."""
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url) as c:
        branch_before = await c.get_agent(BELLA, branch_id=CONFIRM)
        main = await c.get_agent(BELLA)
        attached = main.platform_settings["testing"]["attached_tests"] + [{"test_id": "test_acme_lookup"}]
        from convai_tui.api.models import AgentUpdate

        await c.update_agent(BELLA, AgentUpdate(platform_settings={"testing": {"attached_tests": attached}}))
        old = branch_before.platform_settings  # the branch's settings, from before main attached the test
        await c.update_agent(BELLA, AgentUpdate(platform_settings={**old, "evaluation": {"criteria": []}}),
                             branch_id=CONFIRM)
        assert "test_acme_lookup" in (await c.get_agent(BELLA)).attached_test_ids
        assert "test_acme_lookup" not in (await c.get_agent(BELLA, branch_id=CONFIRM)).attached_test_ids
        assert (await c.get_agent(BELLA)).evaluation_criteria  # main's criteria untouched too
