"""The concurrent export: the same bytes in the same order as a one-request-at-a-time walk, and a
server's concurrency limit (429 ``too_many_concurrent_requests`` + ``Retry-After``) respected."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest

from convai_tui.api.client import ConvAIClient
from convai_tui.api.errors import RateLimitError
from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig
from convai_tui.services.limiter import AdaptiveLimit
from convai_tui.services.session import Session, Settings

AGENT = "agent_dental_bella"


@pytest.fixture(scope="module")
def one_agent():
    """1,500 conversations, all on one agent (strict: every request must be valid for the real API)."""
    with EmulatorServer(EmulatorConfig(conversations=1500, conversations_agent=AGENT, strict=True)) as srv:
        yield srv


def _session(srv, tmp_path) -> Session:
    return Session(Settings.of(api_key=srv.api_key, base_url=srv.base_url, workspace=tmp_path))


async def _plain_walk(srv, details: bool = False, **params) -> str:
    """What an export must equal: every page in turn (and each conversation in turn), nothing else."""
    out = io.StringIO()
    from convai_tui import jsonutil

    async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
        async for s in c.iter_conversations(page_size=100, **params):
            obj = (await c.get_conversation(s.conversation_id)).to_wire() if details else s.to_wire()
            out.write(jsonutil.dumps(obj) + "\n")
    return out.getvalue()


async def test_concurrent_export_is_byte_identical_to_the_sequential_one(one_agent, tmp_path):
    srv = one_agent
    expected = await _plain_walk(srv, agent_id=AGENT)
    ids = [json.loads(line)["conversation_id"] for line in expected.splitlines()]
    assert len(ids) == len(set(ids)) > 1400
    async with _session(srv, tmp_path) as s:
        # small pages and windows: many windows, many boundaries, a window open while others finish
        for conc, page, window in ((1, 100, 1000), (8, 100, 1000), (8, 10, 40), (3, 7, 15), (16, 100, 50)):
            out, stats = io.StringIO(), {}
            n = await s.conversations.export(out, AGENT, concurrency=conc, page_size=page, window_rows=window,
                                             stats=stats)
            assert n == len(ids) and out.getvalue() == expected, (conc, page, window)
            assert stats["most_in_flight"] <= conc
        # with filters (the windows stay inside them), every agent
        f = s.conversations.filter_for(failed=True, since="1700000000", until="1790000000")
        expected = await _plain_walk(srv, call_successful="failure", call_start_after_unix=1699999999,
                                     call_start_before_unix=1790000000)
        out = io.StringIO()
        await s.conversations.export(out, None, filters=f, page_size=10, window_rows=30)
        assert out.getvalue() == expected and expected


async def test_concurrent_details_export_is_identical_and_bounded(one_agent, tmp_path):
    srv = one_agent
    async with _session(srv, tmp_path) as s:
        rows = await s.conversations.summaries(AGENT, limit=0)
        since = str(rows[120].start_time_unix_secs)  # the newest ~120 conversations
        f = s.conversations.filter_for(since=since)
        expected = await _plain_walk(srv, details=True, agent_id=AGENT, call_start_after_unix=int(since) - 1)
        out, stats = io.StringIO(), {}
        n = await s.conversations.export(out, AGENT, filters=f, details=True, concurrency=6, stats=stats, page_size=25)
        assert out.getvalue() == expected and n == len(expected.splitlines()) >= 100
        assert stats["most_in_flight"] == 6  # it did run concurrently, never beyond the bound


async def test_export_against_a_concurrency_limit_retries_429s_and_loses_nothing(tmp_path):
    cfg = EmulatorConfig(conversations=600, conversations_agent=AGENT, max_concurrent=2, retry_after_s=1,
                         latency_ms=30, strict=True)
    with EmulatorServer(cfg) as srv:
        expected = await _plain_walk(srv, agent_id=AGENT)
        before = httpx.get(f"{srv.base_url}/_emulator/stats").json()
        async with _session(srv, tmp_path) as s:
            for details in (False, True):
                out, stats = io.StringIO(), {}
                f = None
                if details:
                    rows = await s.conversations.summaries(AGENT, limit=40)
                    f = s.conversations.filter_for(since=str(rows[-1].start_time_unix_secs))
                    want = await _plain_walk(srv, details=True, agent_id=AGENT,
                                             call_start_after_unix=rows[-1].start_time_unix_secs - 1)
                else:
                    want = expected
                await s.conversations.export(out, AGENT, filters=f, details=details, concurrency=8, stats=stats,
                                             page_size=20, window_rows=60)
                assert out.getvalue() == want, details  # nothing lost, nothing twice, same order
                assert stats["refused"] > 0  # the server said no ...
                assert stats["limit"] <= 2  # ... and the pool came down to what it allows
        after = httpx.get(f"{srv.base_url}/_emulator/stats").json()
        assert after["rejected"] > before["rejected"]
        assert after["max_in_flight"] <= 2


def test_cli_export_takes_a_concurrency(cli):
    code, out, err = cli("conversations", "export", "--concurrency", "3")
    assert code == 0 and "exported" in err
    code1, out1, _ = cli("conversations", "export", "--concurrency", "1")
    assert code1 == 0 and out1 == out and len(out.splitlines()) >= 300
    code, _, err = cli("conversations", "export", "--concurrency", "0")
    assert code == 2


async def test_the_pool_waits_as_told_gives_its_slot_back_and_shrinks():
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)
        await asyncio.sleep(0)

    pool = AdaptiveLimit(4, sleep=sleep)
    in_server = 0
    accepted = 0

    async def call() -> int:
        nonlocal in_server, accepted
        if in_server >= 2:
            raise RateLimitError("too many", status_code=429, retry_after=1.5)
        in_server += 1
        try:
            await asyncio.sleep(0.01)
            accepted += 1
            return accepted
        finally:
            in_server -= 1

    results = await asyncio.gather(*(pool.run(call) for _ in range(12)))
    assert sorted(results) == list(range(1, 13))
    assert waits and all(w == 1.5 for w in waits)  # Retry-After, as the server said
    assert pool.limit <= 2 and pool.refused == len(waits) and pool.in_flight == 0

    async def never() -> None:
        raise RateLimitError("no", status_code=429, retry_after=3600)

    with pytest.raises(RateLimitError):  # longer than the client waits: said at once
        await AdaptiveLimit(2, sleep=sleep).run(never)


async def test_the_pool_honours_the_servers_retry_after_through_the_real_client():
    """Against a server that takes 2 requests at a time and answers the rest 429 + ``Retry-After: 1``:
    each refused request waits exactly what the header said (read by the real client), gives its slot
    back meanwhile, and the server never sees more than it allows once the pool has learnt it."""
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)
        await asyncio.sleep(s)

    cfg = EmulatorConfig(conversations=30, max_concurrent=2, retry_after_s=1, latency_ms=100, strict=True)
    with EmulatorServer(cfg) as srv:
        async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
            ids = [x.conversation_id for x in (await c.list_conversations(page_size=12)).conversations]
            pool = AdaptiveLimit(8, sleep=sleep)
            got = await asyncio.gather(*(pool.run(lambda i=i: c.get_conversation(i)) for i in ids))
        stats = httpx.get(f"{srv.base_url}/_emulator/stats").json()
    assert [g.conversation_id for g in got] == ids  # every one, once, in order
    assert waits and set(waits) == {1.0} and pool.refused == len(waits) == stats["rejected"]
    assert pool.limit <= 2 and pool.in_flight == 0 and stats["max_in_flight"] <= 2
