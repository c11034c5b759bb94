"""The smaller things of issue #18, each pinned by a test: a failed call is not ticked, a single run
after an A/B has no stale B and no "A", the A/B criteria line up, the run detail gives the rationale
once and names the target, like/dislike shows at once, a test made from a conversation leaves no
duplicate version, ``diff`` without a draft says why, the demo keeps one per-user workspace."""

from __future__ import annotations

import re

from textual.widgets import Static

from convai_tui.services.session import ConfigFlags, demo_workspace_dir, resolve_settings
from convai_tui.tui.conversations.create_test import CreateTestScreen
from convai_tui.tui.conversations.transcript import TranscriptScreen
from convai_tui.tui.simulation.ab import ABScreen
from convai_tui.tui.tests.run_detail import RunDetailScreen

from tui_helpers import log_text, make_app, ready, status, wait_for

AGENT = "agent_dental_bella"


async def test_simulation_status_ab_columns_and_a_single_run_after_an_ab():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, AGENT)
        sim = app.simulation_pane
        app.action_show_pane("simulation")
        sim.action_run()
        await wait_for(pilot, lambda: sim.lanes["a"].finished, what="a run")
        await wait_for(pilot, lambda: "call failure" in status(app, "#sim-status"), what="status")
        assert status(app, "#sim-status").startswith("✗")  # not a tick beside a failure
        # A/B: the criteria table keeps its columns apart
        sim.action_ab()
        await wait_for(pilot, lambda: isinstance(app.screen, ABScreen) and app.screen.query_one("#ab-run").region.width,
                       what="A/B dialog")
        await pilot.click("#ab-run")
        await wait_for(pilot, lambda: not app.main.query_one("#sim-compare-box").has_class("-hidden"), timeout=20,
                       what="comparison")
        compare = str(app.main.query_one("#sim-compare", Static).render())
        rows = compare.splitlines()[1:]
        assert rows and all(re.search(r" A [✓✗?] (success|failure|unknown) +B [✓✗?] ", r) for r in rows), compare
        # a single run after it: one lane, no "A" label, no B in the status
        sim.action_run()
        await wait_for(pilot, lambda: sim.lanes["a"].finished and not sim.running and "b" not in sim.lanes,
                       what="single run")
        await wait_for(pilot, lambda: "turns" in status(app, "#sim-status") and not sim.running, what="status")
        assert " B " not in status(app, "#sim-status") and "A " not in status(app, "#sim-status")[:4]
        assert not log_text(app).startswith("A ")
        assert app.main.query_one("#sim-lane-b").has_class("-hidden")


async def test_run_detail_names_the_target_and_gives_the_rationale_once():
    app = make_app(test_delay_ms=50)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, AGENT)
        pane = app.tests_pane
        app.action_show_pane("tests")
        pane.action_run()
        await wait_for(pilot, lambda: pane.runs and not pane.polling, timeout=20, what="runs")
        assert "remote main" in status(app, "#tests-status")  # the status names the target
        grid = pane.grid
        grid.focus()
        await pilot.press(*["down"] * grid.index["test_bella_confirms"], "right", "enter")
        detail = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen, what="detail")
        text = detail.text.plain
        assert "Target: remote main" in text
        from convai_tui.services.tests import rationale_of

        why = rationale_of(detail.run)
        assert why and text.count(why) == 1


async def test_feedback_shows_at_once_and_a_test_from_a_conversation_leaves_one_version(tmp_path):
    from convai_tui.workspace.store import Workspace

    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, AGENT)
        versions = len(Workspace(tmp_path).list(AGENT))
        conv = app.conversations_pane.table.keys[0]
        app.open_transcript(conv)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv
                                and app.screen, what="transcript")
        await pilot.press("l")
        await wait_for(pilot, lambda: "feedback: like" in str(screen.query_one("#tr-header", Static).render()),
                       what="the header updated")
        await pilot.press("down", "down", "t")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateTestScreen), what="form")
        await pilot.press(*"The agent confirms the time.", "ctrl+s")
        await wait_for(pilot, lambda: Workspace(tmp_path).tests(AGENT), what="test saved")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.prompt_pane.agent is not None and not isinstance(app.screen, TranscriptScreen),
                       what="back")
        await pilot.pause(0.3)
        assert len(Workspace(tmp_path).list(AGENT)) == versions  # no duplicate "pulled" version


def test_diff_without_a_draft_says_why(cli):
    code, _, _ = cli("pull", AGENT)
    assert code == 0
    code, out, err = cli("diff", "--agent", AGENT)
    assert code == 0 and "no draft" in err and "latest" in err
    assert out.strip() or "identical" in err


def test_the_demo_keeps_one_per_user_workspace(tmp_path):
    cwd = tmp_path / "where-i-started"
    cwd.mkdir()
    env = {"HOME": str(tmp_path / "home")}
    assert demo_workspace_dir(env) == tmp_path / "home" / ".local" / "share" / "convai-tui" / "demo"
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    settings = resolve_settings(ConfigFlags(demo=True), env=env, cwd=cwd)
    assert settings.workspace_dir == (tmp_path / "data" / "convai-tui" / "demo").resolve()
    assert settings.workspace_dir.is_absolute() and cwd not in settings.workspace_dir.parents
    assert list(cwd.iterdir()) == []
