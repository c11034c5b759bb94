"""The TUI driven with Pilot against a real in-process emulator on a loopback port."""

from __future__ import annotations

from convai_tui.tui.app import ConvaiApp
from convai_tui.tui.conversations.create_test import CreateTestScreen
from convai_tui.tui.conversations.transcript import TranscriptScreen
from convai_tui.tui.no_key import NoKeyScreen
from convai_tui.tui.tests.run_detail import RunDetailScreen

from helpers import add_fault
from convai_tui.services.session import Session, Settings
from tui_helpers import app_for, log_text, make_app, ready, save_version, status, wait_for

PANE_TITLES = ["Conversations", "Prompt", "Simulation", "Tests"]


async def test_first_paint_does_not_wait_for_data():
    app = make_app(latency_ms=400)
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.pause(0.05)
        titles = [app.main.query_one(f"#{p}").border_title for p in ("conversations", "prompt", "simulation", "tests")]
        assert titles == PANE_TITLES
        # the command palette works before the panes exist (it offers what is there)
        early = [c.title for c in app.get_system_commands(app.screen)]
        assert "Switch agent" in early and "Run tests" not in early
        # the panes' controls arrive next, still before any data: loading states, not a blocked UI
        await wait_for(pilot, lambda: app.main.query("#conv-table") and app.conversations_pane.table.loading,
                       what="pane controls in a loading state")
        assert app.agent is None
        await ready(pilot)
        assert "Run tests" in [c.title for c in app.get_system_commands(app.screen)]


async def test_a_slow_conversation_list_does_not_hold_the_other_panes(fresh_emulator, tmp_path):
    """The conversations pane is built first and the others after its first rows, but only for
    a moment: with the list taking 5 s, the prompt pane is built and loaded long before."""
    srv = fresh_emulator
    add_fault(srv, kind="delay", delay_ms=5000, path="/v1/convai/conversations", method="GET", count=1)
    app = app_for(srv, tmp_path)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None and app.prompt_pane.query_one("#prompt-text").text,
                       timeout=4, what="the prompt pane built and loaded while the list is slow")
        assert app.panes_ready.is_set() and not app.first_rows.is_set()
        assert app.conversations_pane.table.row_count == 0 and app.conversations_pane.table.loading
        await wait_for(pilot, lambda: app.conversations_pane.table.row_count > 0, timeout=10, what="the rows")
        assert app.first_rows.is_set()


async def test_browse_a_romanian_conversation_by_keyboard():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_sanitas_ro")
        assert app.focused is app.conversations_pane.table  # focused from the start: no clicking needed
        await pilot.press("down", "enter")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv
                                and app.screen, what="transcript")
        view = screen.query_one("#tr-turns")
        assert "Alo, da?" in view.plain(0)
        assert any(ch in view.plain(1) for ch in "ăâîșț")
        analysis = str(screen.query_one("#tr-analysis").render())
        assert "limba_romana" in analysis
        await pilot.press("escape")
        assert not isinstance(app.screen, TranscriptScreen)


async def test_api_text_is_shown_literally():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        app.open_transcript("conv_markup_and_escapes")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv
                                and app.screen, what="transcript")
        view = screen.query_one("#tr-turns")
        user = view.plain(1)
        assert "[bold]not bold[/bold]" in user
        assert "[link=https://evil.example]click[/link]" in user
        assert "\x1b" not in user and "␛[31mnot red" in user
        # the message is emitted as one plain segment: no style came from the text itself
        strips = view._strips(1)
        msg_segments = [seg for strip in strips for seg in strip if "not bold" in seg.text]
        assert msg_segments and all(seg.style is None or not (seg.style.bold or seg.style.link)
                                    for seg in msg_segments)
        svg = app.export_screenshot()
        assert "\x1b" not in svg


async def test_lazy_paging_loads_pages_as_you_scroll():
    app = make_app(conversations=2000)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        table = app.conversations_pane.table
        first = table.row_count
        total = len(app.session.emulator.state.by_agent["agent_dental_bella"])
        assert first < total
        table.focus()
        for _ in range(4):
            await pilot.press("end")
            await pilot.pause(0.3)
        await wait_for(pilot, lambda: table.row_count > first, what="next page")
        keys = list(table.keys)
        assert len(keys) == len(set(keys))
        assert table.row_count < total or not app.conversations_pane.has_more


async def test_the_filter_row_arrives_after_the_first_rows_without_reloading_them(fresh_emulator, tmp_path):
    """The search box and filter Selects are mounted just after the first page is painted; their
    row is reserved from the start (the table does not move), and their initial values do not
    reload the list."""
    srv = fresh_emulator
    app = app_for(srv, tmp_path)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.first_rows.is_set(), what="first rows")
        pane = app.conversations_pane
        row = pane.query_one("#conv-filters")
        # Read positions only once the layout has placed the table (not before its first layout,
        # when its region is still empty: that is what made this test flaky under load).
        await wait_for(pilot, lambda: pane.table.region.height > 0 and row.region.height > 0, what="table laid out")
        table_y = pane.table.region.y
        assert row.region.height == 1 and table_y == row.region.bottom, "the filter row is not reserved"
        await wait_for(pilot, lambda: pane.filters_mounted and pane.query("#conv-rating"), what="filter row")
        await ready(pilot)
        await wait_for(pilot, lambda: all(w.region.height for w in row.children), what="filters laid out")
        assert pane.generation == 1, "mounting the filters reloaded the list"
        assert pane.table.region.y == table_y == row.region.bottom, "the table moved when the filters arrived"
        assert [w.id for w in row.children] == ["conv-search", "conv-success", "conv-date", "conv-rating"]
        # and a real change still reloads, with the new filter
        pane.query_one("#conv-date").value = 7
        await wait_for(pilot, lambda: pane.generation == 2 and not pane.fetching, what="reload on a real change")
        assert pane.filters().since_days == 7


async def test_the_rows_stay_visible_while_the_next_page_loads(tmp_path):
    """Scrolling on fetches the next page in the background: the rows already there stay on screen
    and keep the keyboard (no loading cover over the pane, as a slow page used to show)."""
    from textual.widgets import LoadingIndicator

    from convai_tui.emulator.server import EmulatorServer
    from convai_tui.emulator.state import EmulatorConfig

    with EmulatorServer(EmulatorConfig(conversations=3000)) as srv:
        await _rows_stay_visible(srv, LoadingIndicator, tmp_path)


async def _rows_stay_visible(srv, LoadingIndicator, tmp_path) -> None:
    app = app_for(srv, tmp_path)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot)
        pane = app.conversations_pane
        rows = pane.table.row_count
        assert pane.has_more and app.focused is pane.table
        add_fault(srv, kind="delay", delay_ms=600, path="/v1/convai/conversations", method="GET", count=1)
        pane.fetch_page()
        await wait_for(pilot, lambda: pane.fetching, what="the next page requested")
        await pilot.pause(0.2)  # well inside the 600 ms the page takes
        assert not pane.loading and not pane.table.loading, "the pane is covered while a page loads"
        assert not app.screen.query(LoadingIndicator)
        assert app.focused is pane.table
        assert "Loading" in str(pane.query_one("#conv-status").render())
        await wait_for(pilot, lambda: pane.table.row_count > rows and not pane.fetching, what="the next page")
        assert app.focused is pane.table


async def test_closing_a_transcript_before_it_loads(fresh_emulator, tmp_path):
    """Esc while the conversation is still on its way: when it arrives, nothing is left to fill
    and nothing crashes (the worker used to query the closed screen and take the app down)."""
    srv = fresh_emulator
    app = app_for(srv, tmp_path)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot)
        for fault in ({"kind": "delay", "delay_ms": 400}, {"kind": "status", "status": 500}):
            conv_id = app.conversations_pane.table.keys[0]
            add_fault(srv, **fault, path=f"/v1/convai/conversations/{conv_id}", method="GET", count=4)
            app.open_transcript(conv_id)
            await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen), what="transcript screen")
            screen = app.screen
            assert not screen.closed
            app.push_screen(NoKeyScreen())  # covered by another screen: still open
            await pilot.pause(0.05)
            assert not screen.closed
            app.pop_screen()
            await wait_for(pilot, lambda: app.screen is screen, what="the transcript on top again")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, TranscriptScreen), what="back to the panes")
            assert screen.closed
            await pilot.pause(0.8)  # the response (or the error) lands after the screen is gone
            assert app.is_running and app._exception is None


async def test_filters_and_message_search():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_sanitas_ro")
        pane = app.conversations_pane
        gen = pane.generation
        pane.query_one("#conv-success").value = "failure"
        await wait_for(pilot, lambda: pane.generation > gen and not pane.fetching and pane.table.row_count,
                       what="filtered page")
        state = app.session.emulator.state
        ids = list(pane.table.keys)
        assert ids and all(state.conv_by_id[i].success == "failure" for i in ids)
        pane.query_one("#conv-success").value = ""
        await pilot.click("#conv-search")
        await pilot.press(*"programare", "enter")
        await wait_for(pilot, lambda: pane.search_text and not pane.fetching and pane.table.row_count,
                       what="search results")
        assert "matching “programare”" in status(app, "#conv-status")


async def test_feedback_from_the_transcript():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        conv_id = app.conversations_pane.table.keys[0]
        app.open_transcript(conv_id)
        await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv, what="transcript")
        await pilot.press("d")
        state = app.session.emulator.state
        await wait_for(pilot, lambda: state.conv_by_id[conv_id].feedback == "dislike", what="feedback stored")


async def test_create_test_from_a_turn():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        state = app.session.emulator.state
        before = set(state.tests)
        conv_id = app.conversations_pane.table.keys[0]
        app.open_transcript(conv_id)
        await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv, what="transcript")
        await pilot.press("down", "down")  # turn 2
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateTestScreen), what="form")
        await pilot.press(*"The agent confirms the time.")
        await pilot.press("ctrl+s")
        new = await wait_for(pilot, lambda: set(state.tests) - before, what="test created")
        test = state.tests[new.pop()]
        assert test["success_condition"] == "The agent confirms the time."
        assert test["chat_history"][-1]["role"] == "user"
        assert test["from_conversation_metadata"]["conversation_id"] == conv_id
        attached = state.agents["agent_dental_bella"].platform_settings["testing"]["attached_tests"]
        assert {"test_id": test["id"]} in attached
        local = await wait_for(pilot, lambda: app.session.workspace.tests("agent_dental_bella"), what="saved file")
        assert local[0].sync.remote_id == test["id"] and local[0].body.success_condition == test["success_condition"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: any(t.id == test["id"] for t in app.tests_pane.tests), what="grid reload")


async def test_prompt_edit_marks_dirty_and_saves_a_version():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        pane = app.prompt_pane
        frame = app.main.query_one("#prompt")
        assert not pane.dirty and frame.border_title == "Prompt"
        await pilot.press("2")
        await pilot.press("ctrl+end", "enter", *"Always confirm the booking time.")
        assert pane.dirty and "modified" in frame.border_subtitle
        await save_version(pilot)
        versions = app.session.prompts.versions("agent_dental_bella")
        assert len(versions) == 2 and versions[-1].draft.prompt.endswith("Always confirm the booking time.")
        assert not pane.dirty
        # a bad temperature is refused with a clear message, nothing saved
        pane.query_one("#prompt-temp").value = "hot"
        pane.save_version()
        assert len(app.session.prompts.versions("agent_dental_bella")) == 2


async def test_simulation_streams_turns_then_analysis():
    # 150 ms a turn: after the second turn the rest of the call still takes most of a second, so
    # "turns on screen while it runs" holds even when a loaded machine delays a poll (at 30 ms a
    # turn the whole call could end between two polls: seen once in a full run).
    app = make_app(stream_delay_ms=150)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: app.simulation_pane.lanes["a"].turns >= 2, what="first turns")
        assert app.simulation_pane.running  # turns are on screen before the call ends
        await wait_for(pilot, lambda: app.simulation_pane.lanes["a"].finished, what="analysis")
        text = log_text(app)
        assert "road: simulate-conversation/stream" in text
        assert "Analysis" in text and "confirms_time" in text
        assert "stream" in status(app, "#sim-status")


async def test_simulation_cancel_closes_the_stream():
    app = make_app(stream_delay_ms=300)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: app.simulation_pane.lanes["a"].turns >= 1, what="a turn")
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.simulation_pane.running, what="cancel")
        assert "Cancelled after" in log_text(app)
        assert app.simulation_pane.lanes["a"].finished is None


async def test_dropped_stream_keeps_partial_transcript():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        add_fault(app.session.emulator, kind="cut", after_events=3,
                  path="/v1/convai/agents/agent_dental_bella/simulate-conversation/stream")
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: not app.simulation_pane.running and app.simulation_pane.lanes.get("a"),
                       what="end of run")
        text = log_text(app)
        assert "interrupted after 3 turns" in text
        assert app.simulation_pane.lanes["a"].turns == 3


async def test_simulation_falls_back_to_the_test_road():
    app = make_app(legacy_simulate=False)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: app.simulation_pane.lanes["a"].finished, timeout=20, what="analysis")
        assert "simulation test" in log_text(app)
        assert "simulation test" in status(app, "#sim-status")


async def test_ab_simulation_side_by_side():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot, "agent_dental_bella")
        await pilot.press("2", "ctrl+end", "enter", *"Always confirm the booking time.")
        await pilot.press("alt+3", "b")
        await wait_for(pilot, lambda: app.screen.query_one("#ab-run").region.width, what="A/B dialog")
        await pilot.click("#ab-run")
        await wait_for(pilot, lambda: not app.main.query_one("#sim-compare-box").has_class("-hidden"), timeout=20,
                       what="comparison")
        compare = str(app.main.query_one("#sim-compare").render())
        assert "confirms_time" in compare and "differs" in compare
        assert log_text(app, "a") and log_text(app, "b")


async def test_tests_grid_fills_live_and_shows_rationale():
    app = make_app(test_delay_ms=600)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        pane = app.tests_pane
        pane.query_one("#tests-repeat").value = "2"
        await pilot.press("4", "r")
        await wait_for(pilot, lambda: pane.runs and any(r.status == "pending" for r in pane.runs.values()),
                       what="pending cells")
        await wait_for(pilot, lambda: pane.runs and not pane.polling, timeout=20, what="all runs done")
        assert len(pane.runs) == 2 * len(pane.tests)
        statuses = {r.test_name: r.status for r in pane.runs.values()}
        assert statuses["Confirms the booking"] == "failed" and statuses["Greets politely"] == "passed"
        assert "passed" in status(app, "#tests-status")
        grid = pane.grid
        assert grid.rate("test_bella_confirms") == (0, 2) and grid.rate("test_bella_polite") == (2, 2)
        grid.focus()
        await pilot.press(*["down"] * grid.index["test_bella_confirms"], "right")
        assert (grid.cursor_row, grid.cursor_col) == (grid.index["test_bella_confirms"], 1)
        await pilot.press("enter")
        detail = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen,
                                what="detail")
        text = str(detail.query_one("Static").render())
        assert "confirms the booking time" in text and "no agent turn confirms" in text


async def test_local_draft_changes_the_verdict():
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, "agent_dental_bella")
        await pilot.press("2", "ctrl+end", "enter", *"Always confirm the booking time.")
        pane = app.tests_pane
        sel = pane.query_one("#tests-target")
        sel.value = next(c.key for c in pane.targets if c.kind == "draft")
        await pilot.press("alt+4", "r")
        await wait_for(pilot, lambda: pane.runs and not pane.polling, timeout=20, what="runs done")
        statuses = {r.test_id: r.status for r in pane.runs.values()}
        assert statuses["test_bella_confirms"] == "passed"
        # the remote agent was not touched
        assert "confirm the booking time" not in app.session.emulator.state.agents[
            "agent_dental_bella"].config()["agent"]["prompt"]["prompt"]


async def test_compact_layout_at_80x24():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        main = app.main
        assert main.has_class("-compact")
        assert main.query_one("#pane-tabs").display
        visible = [p for p in ("conversations", "prompt", "simulation", "tests") if main.query_one(f"#{p}").display]
        assert visible == ["conversations"]
        await pilot.press("2")
        visible = [p for p in ("conversations", "prompt", "simulation", "tests") if main.query_one(f"#{p}").display]
        assert visible == ["prompt"]
        await pilot.press("alt+4")
        assert main.query_one("#tests").display


async def test_missing_key_explains_what_to_set(tmp_path):
    app = ConvaiApp(Session(Settings.of(workspace=tmp_path)))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, NoKeyScreen)
        text = str(app.screen.query_one("Static").render())
        assert "ELEVENLABS_API_KEY" in text and "--demo" in text


async def test_bad_key_is_reported_not_crashed(emulator, tmp_path):
    app = ConvaiApp(Session(Settings.of(api_key="wrong-key", base_url=emulator.base_url, workspace=tmp_path)))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "401" in status(app, "#conn") or "rejected" in status(app, "#conn"),
                       what="error shown")
        assert "wrong-key" not in status(app, "#conn")


async def test_switch_agent_by_keyboard():
    from convai_tui.tui.widgets.dialogs import PickScreen

    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot)
        app.conversations_pane.table.focus()
        await pilot.press("a")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, PickScreen)
                                and app.screen.query_one("#pick-list").has_focus and app.screen, what="agent list")
        labels = [o.prompt.plain for o in screen.query_one("#pick-list").options]
        target = next(i for i, label in enumerate(labels) if "agent_sanitas_ro" in label)
        await pilot.press(*["down"] * target, "enter")
        await wait_for(pilot, lambda: app.agent and app.agent.agent_id == "agent_sanitas_ro", what="switched")
        assert "Asistent Programări Sanitas" in str(app.main.query_one("#agent-select").render())
        assert app.focused is app.conversations_pane.table  # Enter now opens a conversation
        await wait_for(pilot, lambda: app.conversations_pane.table.row_count and
                       app.conversations_pane.agent_id == "agent_sanitas_ro", what="its conversations")


async def test_start_up_objects_leave_the_collectors_scans_until_exit():
    """Full collections that walk every start-up object caused 50-60 ms pauses mid-poll; once
    the app is up they are frozen out of the scans, and released again when it exits."""
    import gc

    from convai_tui import startup

    default = gc.get_threshold()
    startup.begin()  # as `main` does before the app is imported
    try:
        assert gc.get_threshold() == startup.STARTUP_THRESHOLD
        app = make_app()
        async with app.run_test(size=(140, 44)) as pilot:
            await ready(pilot)
            await wait_for(pilot, lambda: gc.get_freeze_count() > 50_000, what="start-up objects frozen")
            # the start-up thresholds end with start-up: from here on the collector runs as usual
            await wait_for(pilot, lambda: not startup.active(), what="start-up collector policy ended")
            assert gc.get_threshold() == default
        assert gc.get_freeze_count() == 0
    finally:
        startup.end(freeze=False)
        gc.set_threshold(*default)
