"""The conversation list at real latency and scale: the first page requested before the agent list
answers, the rows last shown displayed at once (marked as cached) and replaced by the fresh page, the
last agent remembered, and pages far from the viewport evicted and fetched again on return."""

from __future__ import annotations

import pytest

from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig
from convai_tui.services import userstate
from convai_tui.services.session import ConfigFlags, Session, resolve_settings
from convai_tui.tui.app import ConvaiApp
from helpers import add_fault
from tui_helpers import status, wait_for

BELLA, ACME = "agent_dental_bella", "agent_acme_support"


def _app(srv, tmp_path, monkeypatch, **flags) -> ConvaiApp:
    """The TUI as `convai-tui --base-url ... --workspace ...` starts it (settings resolved the one way)."""
    monkeypatch.setenv("ELEVENLABS_API_KEY", srv.api_key)
    return ConvaiApp(Session(resolve_settings(ConfigFlags(base_url=srv.base_url, workspace=str(tmp_path), **flags))))


def _server_ids(srv, agent: str) -> list[str]:
    return [c.id for c in srv.state.history.by_agent[agent] if not c.deleted]


async def test_first_rows_arrive_before_the_agent_list(fresh_emulator, tmp_path, monkeypatch):
    """The agent is known (--agent): its first page goes out with the agent list, not after it. The
    agent list is slowed down; the rows show anyway, and the agents fill in when the list arrives."""
    srv = fresh_emulator
    add_fault(srv, kind="delay", delay_ms=2500, path="/v1/convai/agents", method="GET", count=-1)
    app = _app(srv, tmp_path, monkeypatch, agent=BELLA)
    async with app.run_test(size=(140, 44)) as pilot:
        pane = await wait_for(pilot, lambda: app.conversations_mounted.is_set() and app.conversations_pane,
                              what="the conversations pane")
        await wait_for(pilot, lambda: pane.loaded > 0, what="the first rows")
        switcher = app.main.query_one("#agent-select")
        assert not switcher.agents, "the rows waited for the agent list"
        assert list(pane.table.keys)[:20] == _server_ids(srv, BELLA)[:20]
        await wait_for(pilot, lambda: switcher.agents and app.agent is not None, timeout=20, what="the agent list")
        assert app.agent.agent_id == BELLA and pane.agent_id == BELLA


async def test_the_last_agent_is_reopened_and_a_vanished_one_forgotten(fresh_emulator, tmp_path, monkeypatch):
    srv = fresh_emulator
    app = _app(srv, tmp_path, monkeypatch)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None, what="the first agent")
        first = app.agent.agent_id
        other = ACME if first != ACME else BELLA
        app.main.query_one("#agent-select").value = other
        await wait_for(pilot, lambda: app.agent.agent_id == other and app.conversations_pane.loaded, what="switch")
        key = userstate.server_key(srv.base_url)
        await wait_for(pilot, lambda: userstate.read_last_agent(key) == other, what="remembered")
    app = _app(srv, tmp_path, monkeypatch)
    assert app.session.settings.last_agent == other
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None, what="the remembered agent")
        assert app.agent.agent_id == other
    # an agent remembered from last time that no longer exists: the first agent, said once, forgotten
    userstate.remember_agent(key, "agent_gone_since")
    app = _app(srv, tmp_path, monkeypatch)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None, what="the first agent instead")
        assert app.agent.agent_id == first
        notes = [n.message for n in app._notifications]
        assert sum("agent_gone_since" in m for m in notes) == 1, notes
    assert userstate.read_last_agent(key) == first


async def test_the_rows_last_shown_appear_at_once_then_the_fresh_page_replaces_them(fresh_emulator, tmp_path,
                                                                                     monkeypatch):
    srv = fresh_emulator
    app = _app(srv, tmp_path, monkeypatch, agent=BELLA)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None and app.conversations_pane.loaded, what="first run")
        cached = await wait_for(pilot, lambda: userstate.read_rows(userstate.server_key(srv.base_url), BELLA,
                                                                   _default_filters()), what="the rows kept")
    assert cached and [r.conversation_id for r in cached[0]] == _server_ids(srv, BELLA)[:len(cached[0])]
    # a call comes in meanwhile, and the next start's first page is slow
    newest = srv.state.history.by_agent[BELLA][0]
    newest.deleted = True  # (the fresh page differs from the cached one: one row fewer at the top)
    add_fault(srv, kind="delay", delay_ms=3000, path="/v1/convai/conversations", method="GET", count=1)
    app = _app(srv, tmp_path, monkeypatch, agent=BELLA)
    async with app.run_test(size=(140, 44)) as pilot:
        pane = await wait_for(pilot, lambda: app.conversations_mounted.is_set() and app.conversations_pane,
                              what="the pane")
        # the cached rows are there from the first frame: dimmed, tagged, said in the status line
        assert pane.showing_cached and pane.table.row_count == len(cached[0]) and pane.loaded == 0
        assert "cached" in status(app, "#conv-status")
        assert list(pane.table.keys)[0] == newest.id
        await pilot.pause(0.05)
        table = pane.table
        table.focus()
        target = list(table.keys)[5]
        table.move_cursor(5)  # the user moves while the fresh page is on its way
        await wait_for(pilot, lambda: not pane.showing_cached and pane.loaded, timeout=10, what="the fresh page")
        keys = list(table.keys)
        assert keys == _server_ids(srv, BELLA)[:len(keys)] and len(keys) == len(set(keys))
        assert newest.id not in keys
        assert table.key_at(table.cursor_row) == target  # the cursor stayed on its row, now one up
        assert app.focused is table and "cached" not in status(app, "#conv-status")


def _default_filters() -> str:
    from convai_tui.services.conversations import ConversationFilter

    return ConversationFilter().cache_key


@pytest.fixture(scope="module")
def big_agent():
    with EmulatorServer(EmulatorConfig(conversations=1600, conversations_agent=BELLA, strict=True)) as srv:
        yield srv


async def test_far_pages_are_evicted_and_fetched_again_with_the_indices_right(big_agent, tmp_path, monkeypatch):
    srv = big_agent
    ids = _server_ids(srv, BELLA)
    app = _app(srv, tmp_path, monkeypatch, agent=BELLA)
    async with app.run_test(size=(140, 44)) as pilot:
        pane = await wait_for(pilot, lambda: app.agent is not None and app.conversations_pane.loaded
                              and app.conversations_pane, what="first page")
        table = pane.table
        table.max_loaded_rows = 300
        table.focus()
        while table.row_count < 1200:  # scroll down like a user holding End: the top pages go
            n = table.row_count
            table.move_cursor(n - 1)
            await wait_for(pilot, lambda: table.row_count > n and not pane.fetching, what=f"past row {n}")
        await pilot.pause(0.05)
        assert table.row_count == pane.loaded == 1200  # every row counted, whether held or not
        assert table.loaded_rows <= 300 + 100
        assert table.virtual_size.height == 1201  # the scrollbar covers all of them
        assert table.block_loaded(0) and not table.block_loaded(4)  # the first page always stays
        assert table.key_at(450) is None and list(table.keys)[:100] == ids[:100]
        # back to row 450: its page is fetched again by its cursor, the same rows at the same places
        table.move_cursor(450)
        await wait_for(pilot, lambda: table.block_loaded(4), what="page 5 again")
        assert [table.key_at(i) for i in range(400, 500)] == ids[400:500]
        assert table.cursor_row == 450 and table.key_at(table.cursor_row) == ids[450]
        # far ones went meanwhile, and the end is fetched again too when wanted
        await pilot.press("end")
        await wait_for(pilot, lambda: table.key_at(table.cursor_row) is not None, what="the last page again")
        assert table.key_at(1199) == ids[1199] and table.loaded_rows <= 300 + 2 * 100
        # Enter on a row opens that conversation (keys and indices agree)
        table.move_cursor(1190)
        await pilot.press("enter")
        from convai_tui.tui.conversations.transcript import TranscriptScreen

        await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen), what="transcript")
        assert app.screen.conversation_id == ids[1190]


async def test_the_end_of_the_list_renders_with_no_color(fresh_emulator, tmp_path, monkeypatch):
    """NO_COLOR (Textual's monochrome filter reads every segment's style): the blank line past the last
    row and the other blank lines of the line-API widgets have a style, so scrolling to the end works."""
    monkeypatch.setenv("NO_COLOR", "1")
    srv = fresh_emulator
    app = _app(srv, tmp_path, monkeypatch, agent=BELLA)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await wait_for(pilot, lambda: app.agent is not None and app.conversations_pane.loaded
                              and app.conversations_pane, what="first page")
        pane.table.focus()
        n = len(_server_ids(srv, BELLA))
        while pane.loaded < n:
            await pilot.press("end")
            await wait_for(pilot, lambda: not pane.fetching, what="the next page")
        await pilot.press("end")
        await wait_for(pilot, lambda: pane.table.cursor_row == n - 1, what="the last row")
        await pilot.pause()
        assert pane.table.key_at(n - 1) == _server_ids(srv, BELLA)[-1]
        # and the other line-API widgets: the tests grid, empty and then filled (header and rows padded)
        await wait_for(pilot, lambda: app.panes_ready.is_set(), what="the other panes")
        await pilot.press("alt+4")
        grid = app.main.query_one("#tests-grid")
        await wait_for(pilot, lambda: grid.region.width > 0, what="the tests grid on screen")
        await pilot.pause()
        assert app.active_pane == "tests"
