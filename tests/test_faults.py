"""Faults: every kind the emulator can inject, what the client does, and a TUI soak test."""

from __future__ import annotations

import random
import time

import httpx
import pytest

from convai_tui.api import errors as E
from convai_tui.api.client import ConvAIClient
from convai_tui.tui.app import ConvaiApp
from convai_tui.tui.conversations.transcript import TranscriptScreen

from helpers import add_fault, fast_client
from tui_helpers import app_for, ready, wait_for

BELLA = "agent_dental_bella"


async def test_each_fault_kind_on_an_idempotent_get(fresh_emulator):
    """A transient fault on a GET is retried and the call succeeds; the retry is counted."""
    add_fault(fresh_emulator, kind="status", status=500, path="/v1/convai/agents", count=1)
    async with fast_client(fresh_emulator) as c:  # 500 is not in the retry set: reported at once
        with pytest.raises(E.ServerError, match="HTTP 500"):
            await c.list_agents()
        assert c.request_count == 1
    for kind, extra in [("status", {"status": 502}), ("status", {"status": 503}), ("status", {"status": 504}),
                        ("status", {"status": 429, "retry_after": 0.01}), ("reset", {}),
                        ("delay", {"delay_ms": 50})]:
        add_fault(fresh_emulator, kind=kind, path="/v1/convai/agents", count=1, **extra)
        async with fast_client(fresh_emulator) as c:
            page = await c.list_agents()
            assert len(page.agents) == 3, kind
            assert c.retry_count == (0 if kind == "delay" else 1), (kind, extra)


async def test_malformed_json_and_reset_on_a_post_are_not_retried(fresh_emulator):
    from convai_tui.api.models import RunTestsRequest, TestRef

    add_fault(fresh_emulator, kind="reset", path="/v1/convai/agents/agent_dental_bella/run-tests", count=1)
    async with fast_client(fresh_emulator) as c:
        with pytest.raises(E.APIConnectionError, match="connection broke"):
            await c.run_tests(BELLA, RunTestsRequest(tests=[TestRef(test_id="test_bella_polite")]))
        assert c.request_count == 1  # never silently sent twice
    add_fault(fresh_emulator, kind="malformed", path="/v1/convai/conversations", count=1)
    async with fast_client(fresh_emulator) as c:
        with pytest.raises(E.APIStatusError, match="invalid JSON"):
            await c.list_conversations()


async def test_a_server_that_never_answers_times_out_clearly(fresh_emulator):
    add_fault(fresh_emulator, kind="hang", path="/v1/convai/agents", count=-1)
    async with ConvAIClient(fresh_emulator.api_key, base_url=fresh_emulator.base_url, timeout=0.3, max_retries=1,
                            backoff_base=0.01) as c:
        t0 = time.monotonic()
        with pytest.raises(E.APITimeoutError, match="timed out"):
            await c.list_agents()
        assert c.request_count == 2  # a GET: retried once, then a clear error
        assert time.monotonic() - t0 < 5


async def test_fault_header_and_bad_fault_specs(fresh_emulator):
    async with httpx.AsyncClient(base_url=fresh_emulator.base_url,
                                 headers={"xi-api-key": fresh_emulator.api_key}) as h:
        r = await h.get("/v1/convai/agents", headers={"x-emulator-fault": "kind=status,status=418"})
        assert r.status_code == 418
        r = await h.get("/v1/convai/agents", headers={"x-emulator-fault": "kind=explode"})
        assert r.status_code == 422 and "unknown fault kind" in r.text
        r = await h.post("/_emulator/faults", json={"kind": "status", "nonsense": 1})
        assert r.status_code == 422


async def test_retry_after_http_date_and_ms_are_honoured():
    from convai_tui.api.client import _retry_after_seconds
    import email.utils

    assert _retry_after_seconds({"retry-after": "2"}) == 2.0
    assert _retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    future = email.utils.formatdate(time.time() + 3, usegmt=True)
    assert 1.0 < _retry_after_seconds({"retry-after": future}) <= 3.5
    assert _retry_after_seconds({"retry-after": "soon"}) is None


async def test_tui_soak_under_random_faults(fresh_emulator, tmp_path):
    """200+ requests with a random fault in ~30 % of them: no crash, every failure shown as a
    notification, and the UI answers keys throughout. (The emulator's fault counters are read from its
    state, in this process: a blocking HTTP call from the test would stall the app's loop each round.)"""
    srv = fresh_emulator
    app = app_for(srv, tmp_path, backoff_base=0.005, max_retries=2, timeout=5)
    shown: list[tuple[str, str]] = []
    real_notify = app.notify

    def notify(message: str, **kw):  # record every notification the app shows
        shown.append((kw.get("severity", "information"), message))
        return real_notify(message, **kw)

    app.notify = notify  # type: ignore[method-assign]
    rnd = random.Random(5)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, BELLA)
        add_fault(srv, kind="random", path="/v1/", count=-1, probability=0.3)
        faults = srv.state.faults
        start_seen = faults.seen
        panes = ["conversations", "prompt", "simulation", "tests"]
        keys_answered = 0
        rounds = 0
        while faults.seen - start_seen < 220 and rounds < 250:
            rounds += 1
            target = rnd.choice(panes)
            await pilot.press(f"alt+{panes.index(target) + 1}")
            await wait_for(pilot, lambda: app.active_pane == target, timeout=10, what=f"pane {target}")
            keys_answered += 1
            action = rnd.choice(["refresh", "page", "open", "tests", "sim", "agent"])
            if action == "refresh":
                app.conversations_pane.action_refresh()
            elif action == "page":
                app.conversations_pane.fetch_page()
            elif action == "open" and app.conversations_pane.table.keys:
                app.open_transcript(app.conversations_pane.table.keys[0])
                await pilot.pause(0.2)
                if isinstance(app.screen, TranscriptScreen):
                    app.pop_screen()
            elif action == "tests" and not app.tests_pane.polling and app.tests_pane.tests:
                app.tests_pane.action_run()
            elif action == "sim" and not app.simulation_pane.running:
                app.simulation_pane.action_run()
            elif action == "agent":
                app.load_agent(rnd.choice([BELLA, "agent_sanitas_ro", "agent_acme_support"]))
            await pilot.pause(0.05)
        assert faults.seen - start_seen >= 200
        assert faults.fired >= 40
        # still alive and answering after the storm
        await pilot.press("alt+2")
        await wait_for(pilot, lambda: app.active_pane == "prompt", what="final key")
        assert app._exception is None
    errors = [m for sev, m in shown if sev == "error"]
    assert errors, "failures must be shown to the user"
    assert all(m.strip() for m in errors)
    assert keys_answered == rounds
