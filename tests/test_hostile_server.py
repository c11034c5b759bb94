"""The client against a hostile server (``tests/hostile.py``): every attack ends in bounded time,
with a typed error, bounded memory, no key and no escape sequence in any message.

Time bounds are generous (a loaded 2-core CI machine); each is far below what the attack cost
before these defences (noted per test)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
import unicodedata
import zlib

import pytest

from convai_tui.api import errors as E
from convai_tui.api.client import DEFAULT_REQUEST_TIMEOUT, DEFAULT_TIMEOUT, ConvAIClient
from convai_tui.api.models import PromptConfig, SimulatedUserConfig, SimulationRequest, SimulationSpecification
from convai_tui.api.stream import FinalEvent, TurnsEvent

from hostile import HostileServer, forever, gzip_bomb, head, reply

KEY = "sk_7d1e0c9b2a8f4e6d5c3b1a0f9e8d7c6b5a4f3e2d1c0b9a8f"
AGENTS = {"agents": [{"agent_id": "a1", "name": "One"}], "has_more": False}
INV = "/v1/convai/test-invocations/inv1"


def sim_request() -> SimulationRequest:
    return SimulationRequest(simulation_specification=SimulationSpecification(
        simulated_user_config=SimulatedUserConfig(prompt=PromptConfig(prompt="hi"))))


def client(srv: HostileServer, **kw) -> ConvAIClient:
    kw.setdefault("backoff_base", 0.01)
    return ConvAIClient(KEY, base_url=srv.base_url, **kw)


async def bounded(coro, seconds: float = 30):
    """Run ``coro``; fail (instead of hanging the suite) if it takes longer than ``seconds``."""
    return await asyncio.wait_for(coro, seconds)


async def consume(agen) -> None:
    async for _ in agen:
        pass


def assert_clean(text: str) -> None:
    """No key (whole or any 8-character fragment), no control character but newline."""
    for i in range(len(KEY) - 7):
        assert KEY[i:i + 8] not in text, f"key fragment {KEY[i:i + 8]!r} leaked: {text!r}"
    bad = [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cs")]
    assert not bad, f"control characters {bad!r} in {text!r}"
    assert "\u202e" not in text and "\u2066" not in text


# ----------------------------------------------------------------------------- size caps
CHILD = textwrap.dedent('''
    import asyncio, json, resource, sys, time
    from convai_tui.api.client import ConvAIClient
    from convai_tui.api import errors as E
    from convai_tui.api.models import PromptConfig, SimulatedUserConfig, SimulationRequest, SimulationSpecification

    def peak_mb():
        # VmHWM: this process's own peak since exec (ru_maxrss would include the parent's RSS at fork)
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def main(url):
        out = {}
        async with ConvAIClient("sk_child_key_0123456789", base_url=url) as c:
            await c.list_agents(page_size=1)  # warm: imports, schemas, connection code
            req = SimulationRequest(simulation_specification=SimulationSpecification(
                simulated_user_config=SimulatedUserConfig(prompt=PromptConfig(prompt="hi"))))
            out["base_mb"] = peak_mb()
            for name, call in [("bomb", lambda: c.list_agents()),
                               ("stream_bomb", lambda: consume(c.simulate_stream("bomb", req))),
                               ("long_line", lambda: consume(c.simulate_stream("line", req)))]:
                t0 = time.monotonic()
                try:
                    await asyncio.wait_for(call(), 120)
                    err = "no error"
                except E.ConvAIError as exc:
                    err = type(exc).__name__ + ": " + str(exc)
                except BaseException as exc:
                    err = "UNTYPED " + type(exc).__name__ + ": " + str(exc)[:300]
                out[name] = {"error": err, "seconds": time.monotonic() - t0, "peak_mb": peak_mb()}
        print(json.dumps(out))

    async def consume(agen):
        async for _ in agen:
            pass

    asyncio.run(main(sys.argv[1]))
''')


@pytest.fixture(scope="module")
def bombs():
    return {"json": gzip_bomb(2**30), "stream": _gzip_member(b'["') + gzip_bomb(2**30, fill=b"x")}


def _gzip_member(data: bytes) -> bytes:
    import gzip
    return gzip.compress(data)


def test_gzip_bomb_and_endless_line_stop_early_in_bounded_memory(bombs):
    """A 1 GB gzip bomb (1 MB on the wire) as a JSON body and as a stream, and a stream whose
    line never ends (80 MB, no newline): each stops at the 64 MiB cap with a typed error, in
    seconds, the process growing by well under 250 MB. Before: the JSON bomb took the client to
    3.2 GB; a gzip stream was read raw (an error on the first byte); a 64 MB line took 67 s."""

    async def handler(req, w):
        if req.path == "/v1/convai/agents" and req.query.get("page_size") == ["1"]:
            await reply(w, 200, AGENTS)
        elif req.path == "/v1/convai/agents":
            await reply(w, 200, bombs["json"], {"content-type": "application/json", "content-encoding": "gzip"})
        elif "/bomb/" in req.path:
            await reply(w, 200, bombs["stream"], {"content-type": "application/x-ndjson", "content-encoding": "gzip"})
        else:  # /line/: ["xxxx... for 80 MB, no newline
            w.write(head(200, {"content-type": "application/x-ndjson"}) + b'["')
            block = b"x" * 65536
            for _ in range(80 * 10**6 // 65536):
                w.write(block)
                await w.drain()

    with HostileServer(handler) as srv:
        r = subprocess.run([sys.executable, "-c", CHILD, srv.base_url], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["bomb"]["error"].startswith("ResponseTooLarge: Listing agents failed: the response is larger than 64 MiB")
    assert out["stream_bomb"]["error"].startswith("StreamInterrupted: Stream interrupted after 0 turns: a value")
    assert "longer than 67,108,864 characters" in out["stream_bomb"]["error"]
    assert out["long_line"]["error"].startswith("StreamInterrupted")
    assert "longer than 67,108,864 characters" in out["long_line"]["error"]
    for name in ("bomb", "stream_bomb", "long_line"):
        assert out[name]["seconds"] < 60, (name, out[name])
    growth = out["long_line"]["peak_mb"] - out["base_mb"]
    assert growth < 250, f"the client grew by {growth:.0f} MB: {out}"


async def test_declared_length_over_the_cap_is_refused_before_reading():
    async def handler(req, w):
        w.write(head(200, {"content-type": "application/json"}, length=10**12))
        await w.drain()
        await forever()

    with HostileServer(handler) as srv:
        async with client(srv, max_response_bytes=1000) as c:
            with pytest.raises(E.ResponseTooLarge, match="1,000,000,000,000 bytes"):
                await bounded(c.list_agents(), 10)


async def test_content_encodings_decoded_by_the_client_unknown_or_corrupt_ones_are_errors():
    import gzip

    body = json.dumps(AGENTS).encode()
    answers = {"gzip": gzip.compress(body), "deflate": zlib.compress(body), "x-gzip": gzip.compress(body),
               "br": body, "gzip-corrupt": gzip.compress(body)[:-12] + b"garbage!garb"}

    async def handler(req, w):
        enc = req.query["page_size"][0]
        await reply(w, 200, answers[enc], {"content-encoding": enc.replace("-corrupt", "")})

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            assert srv.requests == [] or True
            for enc in ("gzip", "deflate", "x-gzip"):
                page = await c.list_agents(page_size=enc)  # type: ignore[arg-type]
                assert page.agents[0].agent_id == "a1", enc
            with pytest.raises(E.ResponseDecodeError, match="encoded as 'br'"):
                await c.list_agents(page_size="br")  # type: ignore[arg-type]
            with pytest.raises(E.ResponseDecodeError, match="corrupt"):
                await c.list_agents(page_size="gzip-corrupt")  # type: ignore[arg-type]
        assert srv.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_gzip_encoded_stream_is_decoded():
    """Before: the client asked for gzip but read the stream raw: an error on the first byte."""
    import gzip

    lines = [[{"role": "agent", "message": "Hello", "time_in_call_secs": 0}],
             {"simulated_conversation": [{"role": "agent", "message": "Hello"}],
              "analysis": {"call_successful": "success"}}]
    data = gzip.compress("".join(json.dumps(v) + "\n" for v in lines).encode())

    async def handler(req, w):
        w.write(head(200, {"content-type": "application/x-ndjson", "content-encoding": "gzip"}))
        for i in range(0, len(data), 7):  # in small pieces, as a slow network would
            w.write(data[i:i + 7])
            await w.drain()

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            events = [ev async for ev in c.simulate_stream("a1", sim_request())]
    assert isinstance(events[0], TurnsEvent) and events[0].turns[0].message == "Hello"
    assert isinstance(events[-1], FinalEvent)


# ----------------------------------------------------------------------------- pagination
@pytest.mark.parametrize("kind", ["same_cursor", "cursor_cycle", "empty_pages"])
async def test_pagination_that_never_ends_is_stopped(kind):
    """Before: ``agents list`` grew until killed (the same cursor with has_more), and
    ``conversations list --limit 5`` never returned (empty pages with has_more)."""
    n = {"count": 0}

    async def handler(req, w):
        n["count"] += 1
        if kind == "same_cursor":
            await reply(w, 200, {"agents": [{"agent_id": f"a{n['count']}", "name": "x"}], "next_cursor": "c1",
                                 "has_more": True})
        elif kind == "cursor_cycle":
            await reply(w, 200, {"agents": [{"agent_id": f"a{n['count']}", "name": "x"}],
                                 "next_cursor": "AB"[n["count"] % 2], "has_more": True})
        else:
            await reply(w, 200, {"conversations": [], "next_cursor": f"c{n['count']}", "has_more": True})

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            got: list = []

            async def collect():
                async for item in (c.iter_conversations(limit=5) if kind == "empty_pages" else c.iter_agents()):
                    got.append(item)

            t0 = time.monotonic()
            with pytest.raises(E.PaginationError) as ei:
                await bounded(collect(), 10)
            assert time.monotonic() - t0 < 10
    assert n["count"] <= 3
    if kind == "empty_pages":
        assert "3 empty pages in a row" in str(ei.value) and got == []
    else:
        assert "a cursor it had sent before" in str(ei.value)
        assert len(got) == n["count"]  # what came before the loop was yielded
    assert "pagination is broken" in str(ei.value)


# ----------------------------------------------------------------------------- time
async def test_a_server_that_accepts_and_never_answers():
    """A GET: one retry, then a clear timeout; a POST that starts work: no retry. The defaults
    bound each attempt: httpx's read timeout (30 s) and the whole-attempt cap (60 s).
    Before: 4 attempts (124 s with the defaults)."""

    async def handler(req, w):
        await forever()

    assert (DEFAULT_TIMEOUT.read, DEFAULT_TIMEOUT.connect, DEFAULT_REQUEST_TIMEOUT) == (30.0, 10.0, 60.0)
    with HostileServer(handler) as srv:
        async with client(srv, timeout=0.5) as c:
            t0 = time.monotonic()
            with pytest.raises(E.APITimeoutError, match="timed out"):
                await bounded(c.list_agents())
            assert c.request_count == 2 and time.monotonic() - t0 < 10
        from convai_tui.api.models import RunTestsRequest, TestRef
        async with client(srv, timeout=0.5) as c:
            with pytest.raises(E.APITimeoutError):
                await bounded(c.run_tests("a1", RunTestsRequest(tests=[TestRef(test_id="t")])))
            assert c.request_count == 1


async def test_a_server_that_trickles_bytes_hits_the_per_attempt_cap():
    """A byte every 50 ms never trips a read timeout; the whole-attempt cap ends it (one retry).
    Before: it ran for as long as the server kept trickling."""

    async def handler(req, w):
        w.write(head(200, {"content-type": "application/json"}, length=10**6) + b"{")
        while True:
            await asyncio.sleep(0.05)
            w.write(b" ")
            await w.drain()

    with HostileServer(handler) as srv:
        async with client(srv, timeout=5, request_timeout=1.0) as c:
            t0 = time.monotonic()
            with pytest.raises(E.APITimeoutError, match="no complete answer within 1 s"):
                await bounded(c.list_agents())
            assert c.request_count == 2 and time.monotonic() - t0 < 10


async def test_retry_after_longer_than_the_client_waits_is_reported_at_once():
    """429 with Retry-After: 999999 and no deadline: a RateLimitError at once, saying so.
    Before: 60 s per attempt, 4 attempts."""

    async def handler(req, w):
        await reply(w, 429, {"detail": "slow down"}, {"retry-after": "999999"})

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            t0 = time.monotonic()
            with pytest.raises(E.RateLimitError, match="asked to wait 999,999 s") as ei:
                await bounded(c.list_agents())
            assert time.monotonic() - t0 < 5 and c.request_count == 1
    assert ei.value.retry_after == 999999


@pytest.mark.parametrize("fault", ["503", "429-huge", "429-short", "hang"])
async def test_poll_timeout_is_a_deadline_across_failures_and_backoffs(fault):
    """``poll_invocation(timeout=2)`` (what ``test --timeout`` uses) ends at 2 s whatever the
    server does: 503 on every poll (with the default back-off), 429 with Retry-After 999999, 429
    with a Retry-After of 1 s on every poll, or a poll that hangs. Before: 65 s with 503; still
    running at 150 s with the 429."""

    async def handler(req, w):
        if req.method == "GET" and req.path == INV and fault == "503":
            await reply(w, 503, {"detail": "busy"})
        elif fault == "429-huge":
            await reply(w, 429, {"detail": "later"}, {"retry-after": "999999"})
        elif fault == "429-short":
            await reply(w, 429, {"detail": "later"}, {"retry-after": "1"})
        else:
            await forever()

    with HostileServer(handler) as srv:
        async with ConvAIClient(KEY, base_url=srv.base_url) as c:  # the default back-off (0.5 s base)
            t0 = time.monotonic()
            with pytest.raises(E.DeadlineExceeded) as ei:
                await bounded(consume(c.poll_invocation("inv1", timeout=2)), 20)
            took = time.monotonic() - t0
    assert took < 6, took
    msg = str(ei.value)
    assert msg.startswith("Test invocation inv1 still pending after 2 s (the timeout)")
    if fault == "429-huge":
        assert "the server asked to wait 999,999 s (about 12 days), more than the" in msg and took < 1.5
    else:
        assert took >= 1.0, took  # it did try until (nearly) the end
    assert_clean(msg)


async def test_client_deadline_bounds_any_call_retries_and_streams():
    """``with client.deadline(s)``: a GET against 503 forever, a GET that hangs (read timeout
    30 s) and a stream that stalls all end at the deadline."""

    async def handler(req, w):
        if req.path == "/v1/convai/agents":
            await reply(w, 503, {"detail": "busy"})
        elif req.path.startswith("/v1/convai/conversations"):
            await forever()
        else:
            w.write(head(200, {"content-type": "application/x-ndjson"}))
            w.write(b'[{"role": "agent", "message": "one"}]\n')
            await w.drain()
            await forever()

    with HostileServer(handler) as srv:
        async with ConvAIClient(KEY, base_url=srv.base_url) as c:
            for call in (lambda: c.list_agents(), lambda: c.get_conversation("x")):  # 503 forever; a hang
                t0 = time.monotonic()
                with pytest.raises(E.DeadlineExceeded, match="the deadline of 1 s passed"):
                    with c.deadline(1):
                        await bounded(call())
                assert 0.9 <= time.monotonic() - t0 < 4
            t0 = time.monotonic()
            with pytest.raises(E.StreamInterrupted, match="after 1 turns: the deadline of 1 s passed") as ei:
                with c.deadline(1):
                    await bounded(consume(c.simulate_stream("a1", sim_request())), 20)
            assert 0.9 <= time.monotonic() - t0 < 4
            assert [t.message for t in ei.value.partial] == ["one"]
            # nested: the earlier deadline wins; none outside
            with c.deadline(30):
                with c.deadline(0.5):
                    with pytest.raises(E.DeadlineExceeded):
                        await bounded(c.list_agents())


# ----------------------------------------------------------------------------- text from the server
async def test_422_details_with_the_key_and_escape_sequences_are_redacted_and_bounded():
    """The server echoes the key in 422 details (whole, quoted, cut, JSON-escaped, URL-encoded) and
    sends terminal escapes (OSC 52 clipboard write, OSC 8 link, clear screen, BEL), bidi overrides,
    wrong types and 10,000 entries of 10 KB. Before: the key and the escapes reached the message."""

    async def handler(req, w):
        key = req.headers["xi-api-key"]
        evil = "\x1b]52;c;ZXZpbA==\x07\x1b]8;;http://evil\x07click\x1b]8;;\x07\x1b[2J\x07\u202eevil"
        detail = [
            {"loc": ["header", "xi-api-key"], "msg": f"invalid key format: '{key}'", "type": "value_error",
             "input": key},
            {"loc": ["body", evil], "msg": evil, "type": evil},
            {"loc": ["x"], "msg": f"prefix {key[:14]}… suffix …{key[-10:]} repr {key!r} url {key.replace('_', '%5F')}"},
            {"loc": 5, "msg": {"nested": [key]}},
            "just a string " + key,
        ] + [{"loc": ["y", i], "msg": "m" * 500} for i in range(1000)]
        if req.query.get("search") == ["huge"]:  # 100 MB: only the first MiB is read, the rest is cut
            detail += [{"loc": ["z", i], "msg": "m" * 10_000} for i in range(10_000)]
        await reply(w, 422, {"detail": detail})

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            with pytest.raises(E.ValidationError) as ei:
                await c.list_agents()
            with pytest.raises(E.ValidationError) as huge:
                await c.list_agents(search="huge")
    assert_clean(str(huge.value))
    assert len(str(huge.value)) < 2500 and "invalid request" not in str(huge.value)
    err = ei.value
    text = str(err)
    assert_clean(text)
    assert_clean(repr(err))
    assert_clean(json.dumps(err.errors))
    assert_clean(json.dumps(err.body))
    assert "header.xi-api-key: invalid key format: '***'" in text
    assert "␛]52;c;ZXZpbA==␇" in text and "<U+202E>evil" in text
    assert len(err.errors) == 50 and err.more_errors == 1005 - 50
    assert len(text) < 50 * 400 and all(len(e["msg"]) <= 300 for e in err.errors)


@pytest.mark.parametrize("status", [400, 403, 404, 500, 429])
async def test_status_errors_never_carry_the_key_or_escapes(status):
    async def handler(req, w):
        key = req.headers["xi-api-key"]
        await reply(w, status, {"detail": {"message": f"bad key {key!r} \x1b[2J\x1b]52;c;eA==\x07" + "z" * 100_000}})

    with HostileServer(handler) as srv:
        async with client(srv, max_retries=0) as c:
            with pytest.raises(E.APIStatusError) as ei:
                await c.list_agents()
    assert_clean(str(ei.value))
    assert_clean(repr(ei.value))
    assert len(str(ei.value)) < 1000


async def test_stream_error_event_and_bad_shapes_are_typed_and_clean():
    async def handler(req, w):
        key = req.headers["xi-api-key"]
        w.write(head(200, {"content-type": "text/event-stream"}))
        if "shape" in req.path:
            w.write(b'data: [{"role": "agent", "message": "ok"}]\n\ndata: [{"role": 5}]\n\n')
        else:
            w.write(b'data: [{"role": "agent", "message": "ok"}]\n\n')
            w.write(("data: " + json.dumps({"detail": f"key {key} \x1b]52;c;eA==\x07"}) + "\n\n").encode())
        await w.drain()

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            for agent, match in (("err", "reported an error after 1 turns"), ("shape", "unexpected shape")):
                with pytest.raises(E.StreamInterrupted, match=match) as ei:
                    await bounded(consume(c.simulate_stream(agent, sim_request())))
                assert_clean(str(ei.value))
                assert [t.message for t in ei.value.partial] == ["ok"]


async def test_hostile_json_bodies_are_typed_errors():
    bodies = {
        "nan": b'{"agents": [], "has_more": NaN}',
        "deep": b"[" * 5000 + b"]" * 5000,
        "deep201": b'{"agents": [], "x": ' + b"[" * 201 + b"]" * 201 + b"}",
        "bigint": b'{"agents": [], "n": ' + b"1" * 5000 + b"}",
        "utf8": b'{"agents": [{"agent_id": "\xff"}]}',
        "shape": b'{"agents": "no"}',
        "empty": b"",
    }

    async def handler(req, w):
        await reply(w, 200, bodies[req.query["search"][0]], {"content-type": "application/json"})

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            for name in bodies:
                with pytest.raises(E.APIStatusError) as ei:
                    await c.list_agents(search=name)
                assert ("invalid JSON" in str(ei.value)) == (name not in ("shape", "empty")), name
            # 200 levels: accepted (and serialisable); a lone surrogate (valid JSON, not text): U+FFFD
            ok = b'{"agents": [{"agent_id": "a\\ud800", "name": "x"}], "deep": ' + b"[" * 199 + b"]" * 199 + b"}"
            bodies["ok"] = ok
            page = await c.list_agents(search="ok")
            assert page.agents[0].agent_id == "a\ufffd"
            json.dumps(page.to_wire(), ensure_ascii=False).encode("utf-8")


async def test_a_redirect_is_an_error_not_an_empty_success():
    async def handler(req, w):
        w.write(b"HTTP/1.1 301 Moved\r\nlocation: https://elsewhere.example/\xe2\x80\xae\x9b2J\r\n"
                b"content-length: 0\r\nconnection: close\r\n\r\n")  # h11 refuses ESC itself; C1 it lets by
        await w.drain()

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            with pytest.raises(E.APIStatusError, match="redirected to https://elsewhere.example/") as ei:
                await c.list_agents()
    assert_clean(str(ei.value))


# ----------------------------------------------------------------------------- paths and the key
async def test_ids_are_one_percent_encoded_path_segment():
    async def handler(req, w):
        await reply(w, 404, {"detail": "not found"})

    with HostileServer(handler) as srv:
        async with client(srv, max_retries=0) as c:
            for id_ in ("../agents/agent_dental_bella", "a/b?c=1#d%e f", "ăî\u202e"):
                with pytest.raises(E.NotFoundError):
                    await c.get_conversation(id_)
            for bad in ("..", ".", ""):
                with pytest.raises(E.InvalidRequestError, match="not a valid id"):
                    await c.get_agent(bad)
            with pytest.raises(E.InvalidRequestError, match="lone surrogate"):
                await c.get_test("x\udcff")
            with pytest.raises(E.InvalidRequestError, match="lone surrogate"):
                await c.list_agents(search="x\udcff")
    paths = [r.target for r in srv.requests]
    assert paths == ["/v1/convai/conversations/..%2Fagents%2Fagent_dental_bella",
                     "/v1/convai/conversations/a%2Fb%3Fc%3D1%23d%25e%20f",
                     "/v1/convai/conversations/%C4%83%C3%AE%E2%80%AE"]


async def test_path_traversal_against_the_emulator_is_a_404(emulator):
    """Before: ``conversations show ../agents/agent_dental_bella`` fetched the agent."""
    async with ConvAIClient(emulator.api_key, base_url=emulator.base_url) as c:
        with pytest.raises(E.NotFoundError):
            await c.get_conversation("../agents/agent_dental_bella")
        with pytest.raises(E.NotFoundError):
            await c.get_test("../../agents/agent_dental_bella")


async def test_the_key_is_stripped_and_a_key_that_cannot_be_sent_is_a_config_error(monkeypatch):
    async def handler(req, w):
        await reply(w, 200, AGENTS)

    with HostileServer(handler) as srv:
        monkeypatch.setenv("ELEVENLABS_API_KEY", f"  {KEY}\n")
        async with ConvAIClient(base_url=srv.base_url) as c:
            await c.list_agents()
        async with ConvAIClient(KEY + "\r\n", base_url=srv.base_url) as c:
            await c.list_agents()
    assert [r.headers["xi-api-key"] for r in srv.requests] == [KEY, KEY]
    for bad, what in ((KEY[:10] + "é" + KEY[10:], "a non-ASCII character (at position 11"),
                      (KEY[:5] + "\x1b" + KEY[5:], "a control character (at position 6"),
                      (KEY[:5] + " " + KEY[5:], "a space (at position 6"), (KEY[:5] + "\u2028" + KEY[5:], "non-ASCII")):
        with pytest.raises(E.ConfigError, match="cannot be sent in an HTTP header") as ei:
            ConvAIClient(bad, base_url="http://127.0.0.1:9")
        assert what in str(ei.value)
        assert_clean(str(ei.value))
        assert KEY[:10] not in str(ei.value)
    monkeypatch.setenv("ELEVENLABS_API_KEY", "\n")
    with pytest.raises(E.ConfigError, match="No API key"):
        ConvAIClient()
    for url in ("http://[::1", "http://", "http://x:99999", "ftp://x", "http://a\x00b"):
        with pytest.raises(E.ConfigError):
            ConvAIClient("k", base_url=url)


async def test_request_bodies_that_json_cannot_carry():
    from convai_tui.api.models import AgentUpdate

    async def handler(req, w):
        await reply(w, 200, {"agent_id": "a1", "name": json.loads(req.body)["name"]})

    with HostileServer(handler) as srv:
        async with client(srv) as c:
            with pytest.raises(E.InvalidRequestError, match="NaN or infinity"):
                await c.update_agent("a1", {"x": float("nan")})
            agent = await c.update_agent("a1", AgentUpdate(name="lone \udc80 surrogate"))
    # sent \u-escaped (valid JSON: what was given goes out as is); what comes back is made text (U+FFFD)
    assert srv.requests[-1].body == b'{"name":"lone \\udc80 surrogate"}'
    assert agent.name == "lone \ufffd surrogate"


async def test_an_error_body_that_is_a_gzip_bomb_is_read_only_up_to_a_mib():
    import tracemalloc

    bomb = gzip_bomb(256 * 2**20, fill=b"x")

    async def handler(req, w):
        await reply(w, 500, bomb, {"content-encoding": "gzip"})

    with HostileServer(handler) as srv:
        async with client(srv, max_retries=0) as c:
            tracemalloc.start()
            try:
                with pytest.raises(E.ServerError, match="HTTP 500: xxx") as ei:
                    await bounded(c.list_agents(), 20)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert peak < 8 * 2**20, peak
    assert len(str(ei.value)) < 1000
