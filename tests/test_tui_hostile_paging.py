"""The conversation list pages by hand (one page per scroll, more while the table is short of the
viewport), so the client's pagination guard never saw it: a server that repeats a cursor or sends empty
pages that say there is more made the pane fetch forever. The pane's own PageGuard stops it with an error.

A real hostile server (tests/hostile.py) sits in front of the real emulator: it forwards every request
but the conversation list, which it answers the hostile way."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hostile import HostileServer, reply
from tui_helpers import app_for, wait_for

BELLA = "agent_dental_bella"


def _proxy(emulator, kind: str, counter: dict):
    async def handler(req, w):
        if req.method == "GET" and req.path == "/v1/convai/conversations":
            counter["n"] += 1
            async with httpx.AsyncClient() as c:  # a real page of the emulator's, served again and again
                real = await c.get(f"{emulator.base_url}/v1/convai/conversations",
                                   params={"agent_id": BELLA, "page_size": 3},
                                   headers={"xi-api-key": req.headers.get("xi-api-key", "")})
            items = real.json()["conversations"]
            if kind == "same_cursor":
                body = {"conversations": items, "next_cursor": "again", "has_more": True}
            else:
                body = {"conversations": [] if counter["n"] > 1 else items, "next_cursor": f"c{counter['n']}",
                        "has_more": True}
            await reply(w, 200, body)
            return
        async with httpx.AsyncClient() as c:
            r = await c.request(req.method, emulator.base_url + req.target, content=req.body,
                                headers={k: v for k, v in req.headers.items()
                                         if k in ("xi-api-key", "content-type", "accept")})
        await reply(w, r.status_code, r.content, {"content-type": r.headers.get("content-type", "application/json")})

    return handler


@pytest.mark.parametrize("kind,needle", [("same_cursor", "sent before"), ("empty_pages", "empty pages")])
async def test_a_conversation_list_that_never_ends_stops_with_an_error(fresh_emulator, tmp_path, kind, needle):
    counter = {"n": 0}
    with HostileServer(_proxy(fresh_emulator, kind, counter)) as hostile:
        srv = type("Srv", (), {"api_key": fresh_emulator.api_key, "base_url": hostile.base_url})()
        app = app_for(srv, tmp_path, timeout=5)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.agent is not None, timeout=20, what="an agent")
            app.main.query_one("#agent-select").value = BELLA
            await wait_for(pilot, lambda: app.agent.agent_id == BELLA, what="Bella")
            pane = app.conversations_pane
            status = pane.query_one("#conv-status")
            await wait_for(pilot, lambda: pane.agent_id == BELLA and "stopped" in str(status.render()), timeout=20,
                           what="the guard")
            assert needle in str(status.render()) or any(needle in n.message for n in app._notifications)
            seen = counter["n"]
            await asyncio.sleep(0)
            await pilot.pause(0.5)  # no further request once stopped (a loop would keep asking)
            assert counter["n"] == seen and seen <= 8, counter
            assert not pane.has_more
