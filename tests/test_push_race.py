"""Two pushes within the same moment (issue 13): the API has no conditional update, so the window is
narrowed (the remote is re-read just before the PATCH) and a race is detected afterwards (read back,
then the new version's parent checked), loudly, with the CLI's conflict exit code.

The race is made deterministic, not mocked: a transport in front of the real one sends a competing
PATCH (someone else's push) through the real network to the real emulator, at exactly the moment
under test, before or after ours."""

from __future__ import annotations

import httpx
import pytest

from convai_tui.services.prompts import PushRaced
from convai_tui.services.session import Session, Settings
from convai_tui.workspace.versions import PromptDraft

BELLA = "agent_dental_bella"


class Competitor(httpx.AsyncBaseTransport):
    """The real transport, plus someone else's push of BELLA's prompt once: ``before`` or ``after`` ours."""

    def __init__(self, when: str) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.when, self.done = when, False

    async def _theirs(self, request: httpx.Request) -> None:
        body = {"conversation_config": {"agent": {"prompt": {"prompt": "Someone else's prompt."}}}}
        theirs = httpx.Request("PATCH", request.url, headers={"xi-api-key": request.headers["xi-api-key"]},
                               json=body)
        resp = await self.real.handle_async_request(theirs)
        await resp.aread()
        assert resp.status_code == 200, resp.status_code
        self.done = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ours = request.method == "PATCH" and request.url.path.endswith(f"/agents/{BELLA}")
        if ours and not self.done and self.when == "before":
            await self._theirs(request)
        resp = await self.real.handle_async_request(request)
        if ours and not self.done and self.when == "after":
            raw = b"".join([chunk async for chunk in resp.aiter_raw()])  # ours has landed ...
            await resp.aclose()
            await self._theirs(request)  # ... theirs lands before our read-back
            return httpx.Response(resp.status_code, headers=resp.headers, stream=httpx.ByteStream(raw))
        return resp

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.parametrize("when,needle", [("before", "your push replaced theirs"),
                                         ("after", "theirs is what runs")])
async def test_a_push_racing_another_is_detected_and_said(fresh_emulator, tmp_path, when, needle):
    session = Session(Settings.of(api_key=fresh_emulator.api_key, base_url=fresh_emulator.base_url,
                                  workspace=tmp_path), client_options={"transport": Competitor(when)})
    try:
        await session.prompts.pull(BELLA, with_tests=False)
        base = session.prompts.versions(BELLA)[-1].draft
        mine = PromptDraft(base.prompt + "\nMy edit.", base.first_message, base.llm, base.temperature)
        with pytest.raises(PushRaced) as info:
            await session.prompts.push(BELLA, mine, label="draft", message="mine")
        assert needle in str(info.value)
    finally:
        await session.close()


async def test_a_push_without_a_race_is_not_called_one(fresh_emulator, tmp_path):
    """The control: the same push, nobody else pushing, succeeds (the check cannot only ever fail)."""
    session = Session(Settings.of(api_key=fresh_emulator.api_key, base_url=fresh_emulator.base_url,
                                  workspace=tmp_path))
    try:
        await session.prompts.pull(BELLA, with_tests=False)
        base = session.prompts.versions(BELLA)[-1].draft
        mine = PromptDraft(base.prompt + "\nMy edit.", base.first_message, base.llm, base.temperature)
        res = await session.prompts.push(BELLA, mine, label="draft", message="mine")
        assert res.version_id
    finally:
        await session.close()
