"""Workspace features in the TUI: versions on disk, diff screen, autosave + recovery, pull/push."""

from __future__ import annotations

import httpx

from convai_tui.tui.prompt.diff import DiffScreen
from convai_tui.tui.widgets.diffview import DiffView
from convai_tui.tui.prompt.pane import PromptPane
from convai_tui.tui.prompt.conflict import ConflictScreen
from convai_tui.tui.prompt.restore import RestoreDraftScreen
from convai_tui.workspace.store import Workspace

from tui_helpers import make_app, ready, save_version, wait_for

AGENT = "agent_dental_bella"


async def type_at_end(pilot, text: str) -> None:
    await pilot.press("alt+2", "ctrl+end", "enter", *text)


async def test_versions_live_in_the_workspace(tmp_path):
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        await type_at_end(pilot, "Always confirm the booking time.")
        await save_version(pilot)
    ws = Workspace(tmp_path)
    versions = ws.list(AGENT)
    assert [v.source.split(":")[0] for v in versions] == ["remote", "local"]
    assert versions[-1].draft.prompt.endswith("Always confirm the booking time.")
    assert ws.agent_file(AGENT).pulled.version_id  # the base for later conflict checks
    assert ws.load_draft(AGENT) is None  # saving cleared the autosaved draft


async def test_diff_screen_side_by_side_with_change_navigation(tmp_path):
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        await type_at_end(pilot, "Always confirm the booking time.")
        await pilot.press("f3")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen, what="diff")
        view = screen.query_one(DiffView)
        await pilot.pause(0.1)
        assert view.sbs.added == 1 and len(view.sbs.hunks) == 1
        await pilot.press("n")
        assert view.current_hunk == 0
        stats = str(screen.query_one("#diff-stats").render())
        assert "+1" in stats and "change 1/1" in stats
        row = view.sbs.hunks[0]
        line = view.render_line(view.row_line(row) - int(view.scroll_offset.y))
        assert "Always confirm the booking time." in line.text and ">" in line.text
        await pilot.press("escape")
        assert isinstance(app.screen.query_one(PromptPane), PromptPane)


async def test_diff_of_a_10000_line_prompt(tmp_path):
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        editor = app.prompt_pane.query_one("#prompt-text")
        big = "\n".join(f"Rule {i}: be kind to caller number {i}." for i in range(10_000))
        editor.load_text(big)
        await pilot.press("alt+2")
        await save_version(pilot)
        editor.load_text(big.replace("Rule 5000:", "Rule 5000 (changed):"))
        await pilot.press("f3")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen, what="diff")
        screen.query_one("#diff-a").value = "v2"
        await pilot.pause(0.2)
        view = screen.query_one(DiffView)
        assert view.sbs.changed == 1 and len(view.sbs.rows) == 3 + 10_000  # 3 settings lines + the prompt
        await pilot.press("n")
        line = view.render_line(view.row_line(view.sbs.hunks[0]) - int(view.scroll_offset.y)).text
        assert "Rule 5000 (changed):" in line



async def test_a_long_diff_is_not_wrapped_before_it_has_a_width(tmp_path, monkeypatch):
    """Mounting the diff of two 10,000-line prompts laid the rows out for the width the view had before
    its first layout (0: every character a line), then again at each width on the way: 1.4 s before the
    first frame in the benchmark. Rows are measured only at the real width, and there they fit."""
    from convai_tui.tui.widgets import diffview
    from convai_tui.workspace.versions import PromptDraft

    counted = []
    real = diffview.line_count
    monkeypatch.setattr(diffview, "line_count", lambda text, width: counted.append(width) or real(text, width))
    old = "\n".join(f"Rule {i}: be kind and precise with caller number {i}." for i in range(10_000))
    new = old.replace("Rule 5000: be kind and precise", "Rule 5000: be kind and very precise")
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        await app.push_screen(DiffScreen([("old", "a", PromptDraft(old)), ("new", "b", PromptDraft(new))], "a", "b"))
        view = await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.query_one(DiffView))
        await wait_for(pilot, lambda: view.sbs.rows and view.current_hunk == 0, what="the first change")
        assert len(counted) < 100, f"{len(counted)} rows wrapped, at widths {sorted(set(counted))[:5]}"
        assert view.virtual_size.height == len(view.sbs.rows)  # every row one line at 140 columns


async def test_autosaved_draft_is_offered_back_after_a_crash(tmp_path, monkeypatch):
    monkeypatch.setattr(PromptPane, "AUTOSAVE_SECONDS", 0.1)
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        await type_at_end(pilot, "Half-written rule")
        await wait_for(pilot, lambda: Workspace(tmp_path).load_draft(AGENT), what="autosave")
        # the session ends without saving (a crash or a dropped SSH connection)
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None, what="agent")
        app.main.query_one("#agent-select").value = AGENT
        await wait_for(pilot, lambda: isinstance(app.screen, RestoreDraftScreen)
                       and app.screen.query_one("#rd-restore").has_focus, what="restore offer")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RestoreDraftScreen), what="dialog closed")
        assert app.prompt_pane.current_draft().prompt.endswith("Half-written rule")
        assert app.prompt_pane.dirty


async def test_push_refuses_to_clobber_a_remote_edit(tmp_path):
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        srv = app.session.emulator
        await type_at_end(pilot, "My new rule.")
        # meanwhile a colleague edits the prompt in the dashboard
        httpx.patch(f"{srv.base_url}/v1/convai/agents/{AGENT}", headers={"xi-api-key": srv.api_key},
                    json={"conversation_config": {"agent": {"prompt": {"prompt": "Colleague's prompt."}}}})
        await pilot.press("f4")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen)
                                and app.screen.query_one("#cf-force").region.width and app.screen,
                                what="conflict dialog")
        text = " ".join(str(w.render()) for w in screen.query("Static"))
        assert "Colleague's prompt." in text and "My new rule." in text
        state = srv.state.agents[AGENT]
        assert state.config()["agent"]["prompt"]["prompt"] == "Colleague's prompt."
        await pilot.click("#cf-force")
        await wait_for(pilot, lambda: state.config()["agent"]["prompt"]["prompt"].endswith("My new rule."),
                       what="forced push")


async def test_push_and_pull_from_the_prompt_pane(tmp_path):
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        srv = app.session.emulator
        await type_at_end(pilot, "Pushed rule.")
        await pilot.press("f4")
        state = srv.state.agents[AGENT]
        await wait_for(pilot, lambda: state.config()["agent"]["prompt"]["prompt"].endswith("Pushed rule."),
                       what="push")
        await wait_for(pilot, lambda: not app.prompt_pane.dirty, what="clean after push")
        await pilot.press("f5")
        ws = Workspace(tmp_path)
        await wait_for(pilot, lambda: len(ws.tests(AGENT)) >= 8, what="tests pulled")


async def test_edited_scenarios_are_saved_and_loaded_back(tmp_path):
    from convai_tui.tui.simulation.scenario import ScenarioScreen

    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        await pilot.press("alt+3", "e")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ScenarioScreen)
                                and app.screen.query_one("#sc-save").region.width and app.screen, what="editor")
        screen.query_one("#sc-name").value = "Booking with broken tool"
        screen.query_one("#sc-mocks").load_text("!book_appointment = 503 upstream down")
        screen.query_one("#sc-limit").value = "14"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Workspace(tmp_path).scenarios(AGENT), what="scenario file")
        sc = Workspace(tmp_path).scenarios(AGENT)[0]
        assert sc.name == "Booking with broken tool" and sc.turn_limit == 14
        assert sc.tool_mocks["book_appointment"].is_error
        # a bad mocks line is refused with a specific message, nothing saved
        await pilot.press("e")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ScenarioScreen)
                                and app.screen.query_one("#sc-save").region.width and app.screen, what="editor")
        screen.query_one("#sc-mocks").load_text("no equals sign here")
        await pilot.press("ctrl+s")
        assert "expected 'tool_name = return value'" in str(screen.query_one("#sc-error").render())
        await pilot.press("escape")
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        assert app.simulation_pane.scenarios[0].name == "Booking with broken tool"


async def test_branches_from_the_command_palette_actions(tmp_path):
    from convai_tui.tui.widgets.dialogs import InputScreen, PickScreen

    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, AGENT)
        state = app.session.emulator.state.agents[AGENT]
        await type_at_end(pilot, "Warmer tone please.")
        app.action_push_new_branch()
        await wait_for(pilot, lambda: isinstance(app.screen, InputScreen) and app.screen.query_one("#in-value").has_focus,
                       what="name dialog")
        await pilot.press(*"warmer", "enter")
        br = await wait_for(pilot, lambda: next((b for b in state.branches.values() if b.name == "warmer"), None),
                            what="branch")
        assert br.tip.conversation_config["agent"]["prompt"]["prompt"].endswith("Warmer tone please.")
        assert not state.config()["agent"]["prompt"]["prompt"].endswith("Warmer tone please.")  # main untouched
        await wait_for(pilot, lambda: any("warmer" in c.label for c in app.tests_pane.targets), what="targets")
        app.action_merge_branch()
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen) and app.screen.query_one("#pick-list").has_focus,
                       what="branch list")
        names = [o.prompt.plain for o in app.screen.query_one("#pick-list").options]
        await pilot.press(*["down"] * next(i for i, n in enumerate(names) if n.startswith("warmer")), "enter")
        await wait_for(pilot, lambda: state.config()["agent"]["prompt"]["prompt"].endswith("Warmer tone please."),
                       what="merged into main")
