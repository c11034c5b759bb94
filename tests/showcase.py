"""Drive the app to each main screen: shared by the tests (Pilot, SVG snapshots) and
``scripts/screenshots.py`` (so the README's screenshots are the tested screens). Not shipped."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from convai_tui.services.session import Session, Settings
from convai_tui.tui.app import ConvaiApp
from convai_tui.tui.conversations.transcript import TranscriptScreen

# Fast, deterministic emulator settings for scripted runs.
SHOWCASE_EMULATOR = {"stream_delay_ms": 5, "test_delay_ms": 300, "conversations": 400}


_SCRATCH: list[tempfile.TemporaryDirectory[str]] = []


def _scratch_dir() -> str:
    """A temporary workspace, removed when the process exits."""
    d = tempfile.TemporaryDirectory(prefix="convai-tui-test-")
    _SCRATCH.append(d)
    return d.name


def fixed_run_ids() -> Callable[..., str]:
    """A stand-in for ``services.runs.new_run_id`` for pictures: ids from a counter on a fixed date (a
    run id is a time and random digits, and the Tests pane shows it: two pictures of one scene differed)."""
    import itertools

    counter = itertools.count(1)
    return lambda now=None: f"20261120-090000-{next(counter):06x}"


def make_app(workspace_dir: str | Path | None = None, **emulator: Any) -> ConvaiApp:
    """The demo app on a fresh in-process emulator and (unless given) a new empty workspace: scripted
    runs never touch the user's demo directory or the current directory."""
    ws = workspace_dir if workspace_dir is not None else _scratch_dir()
    app = ConvaiApp(Session(Settings.of(demo=True, workspace=ws, emulator_options={**SHOWCASE_EMULATOR, **emulator})))
    app.animation_level = "none"  # a picture is never taken mid-animation (the tab underline sliding)
    return app


def app_for(srv: Any, workspace_dir: str | Path, **client_options: Any) -> ConvaiApp:
    """The app against a running emulator (or any server) with its key, in the given workspace."""
    return ConvaiApp(Session(Settings.of(api_key=srv.api_key, base_url=srv.base_url, workspace=workspace_dir),
                             client_options=client_options))


async def wait_for(pilot: Any, cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
        except Exception:
            value = None
        if value:
            return value
        await pilot.pause(0.05)
    app = getattr(pilot, "app", None)
    seen = f" (focused: {app.focused!r}, screen: {app.screen!r})" if app is not None else ""
    raise AssertionError(f"timed out waiting for {what}{seen}")


async def ready(pilot: Any, agent_id: str | None = None) -> ConvaiApp:
    """Wait until the agent is loaded and every pane has its data."""
    app: ConvaiApp = pilot.app
    if agent_id:
        await wait_for(pilot, lambda: app.agent is not None, what="first agent")
        app.main.query_one("#agent-select").value = agent_id
        await wait_for(pilot, lambda: app.agent and app.agent.agent_id == agent_id, what="agent switch")
    await wait_for(pilot, lambda: app.agent is not None and app.conversations_pane.table.row_count > 0
                   and not app.conversations_pane.fetching and app.tests_pane.tests
                   and not app.tests_pane.grid.loading
                   and not app.prompt_pane.query_one("#prompt-text").loading, what="panes loaded")
    await pilot.pause(0.1)
    return app


async def run_ab(pilot: Any, app: ConvaiApp) -> None:
    """Open the simulation pane's A/B dialog, run it with its defaults, wait for the comparison."""
    from convai_tui.tui.simulation.ab import ABScreen

    app.simulation_pane.action_ab()
    await wait_for(pilot, lambda: isinstance(app.screen, ABScreen) and app.screen.query_one("#ab-run").region.width,
                   what="A/B dialog")
    await pilot.click("#ab-run")
    await wait_for(pilot, lambda: not app.main.query_one("#sim-compare-box").has_class("-hidden"), timeout=20,
                   what="comparison")


async def _settle(pilot: Any) -> None:
    """Let every deferred update land (notifications cleared, footer showing the focused keys), with
    the text cursors steady (a blinking one made two pictures of the same screen differ)."""
    app = pilot.app
    app.clear_notifications()
    for screen in app.screen_stack:
        for w in screen.query("TextArea, Input"):
            w.cursor_blink = False
    await pilot.pause(0.1)
    app.screen.refresh_bindings()
    await pilot.pause(0.2)


async def scene_main(pilot: Any) -> None:
    await ready(pilot, "agent_dental_bella")
    app = pilot.app
    table = app.conversations_pane.table
    table.focus()
    await wait_for(pilot, lambda: app.focused is table and not table.loading, what="focused table")
    await _settle(pilot)

    def footer_has_pane_keys() -> bool:
        from textual.widgets import Footer

        return "Search" in "".join(str(w.render()) for w in app.screen.query(Footer).first().query("*"))

    await wait_for(pilot, lambda: app.focused is table and footer_has_pane_keys(), what="footer keys")


async def scene_transcript(pilot: Any) -> None:
    app = await ready(pilot, "agent_sanitas_ro")
    first = app.conversations_pane.table.keys[0]
    app.open_transcript(first, 1)
    await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv, what="transcript")
    await _settle(pilot)


async def scene_simulation(pilot: Any) -> None:
    app = await ready(pilot, "agent_dental_bella")
    app.action_show_pane("simulation")
    app.simulation_pane.action_run()
    await wait_for(pilot, lambda: app.simulation_pane.lanes["a"].finished, what="simulation")
    await _settle(pilot)


async def scene_tests(pilot: Any) -> None:
    app = await ready(pilot, "agent_dental_bella")
    pane = app.tests_pane
    pane.query_one("#tests-repeat").value = "3"
    app.action_show_pane("tests")
    pane.action_run()
    await wait_for(pilot, lambda: pane.runs and not pane.polling, timeout=20, what="test runs")
    await _settle(pilot)


async def scene_ab(pilot: Any) -> None:
    app = await ready(pilot, "agent_dental_bella")
    editor = app.prompt_pane.query_one("#prompt-text")
    editor.move_cursor(editor.document.end)
    editor.insert("\nAlways confirm the booking time.")
    app.action_show_pane("simulation")
    await run_ab(pilot, app)
    await _settle(pilot)


async def scene_diff(pilot: Any) -> None:
    app = await ready(pilot, "agent_dental_bella")
    editor = app.prompt_pane.query_one("#prompt-text")
    text = editor.text.replace("Keep answers short; this is a phone call.",
                               "Keep answers short and warm; this is a phone call.")
    editor.load_text(text + "\nAlways confirm the booking time back to the caller.")
    app.prompt_pane.action_diff()
    from convai_tui.tui.prompt.diff import DiffScreen
    from convai_tui.tui.widgets.diffview import DiffView

    await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.query_one(DiffView).sbs.rows,
                   what="diff screen")
    await pilot.press("n")
    await _settle(pilot)


async def _two_recorded_runs(pilot: Any) -> ConvaiApp:
    """The remote's tests, then the editor's draft (which confirms booking times): two recorded runs."""
    app = await ready(pilot, "agent_dental_bella")
    pane = app.tests_pane
    app.action_show_pane("tests")
    pane.action_run()
    await wait_for(pilot, lambda: pane.run_header is not None and not pane.polling, timeout=20, what="first run")
    first = pane.run_header
    editor = app.prompt_pane.query_one("#prompt-text")
    editor.move_cursor(editor.document.end)
    editor.insert("\nAlways confirm the booking time.")
    pane.query_one("#tests-target").value = "draft"
    pane.action_run()
    await wait_for(pilot, lambda: pane.run_header not in (None, first) and not pane.polling, timeout=20,
                   what="second run")
    return app


async def scene_history(pilot: Any) -> None:
    from convai_tui.tui.runs.history import HistoryScreen

    app = await _two_recorded_runs(pilot)
    app.open_history()
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
    await _settle(pilot)


async def scene_compare(pilot: Any) -> None:
    from convai_tui.tui.runs.compare import CompareScreen
    from convai_tui.tui.runs.history import HistoryScreen

    app = await _two_recorded_runs(pilot)
    app.open_history()
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.runs
                   and app.screen.query("#hist-table"), what="history with its runs")
    app.screen.action_compare()
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
    await _settle(pilot)


async def scene_matrix(pilot: Any) -> None:
    from convai_tui.tui.runs.matrix import MatrixScreen
    from convai_tui.workspace.versions import PromptDraft

    app = await ready(pilot, "agent_dental_bella")
    prompts = app.session.prompts
    base = prompts.versions("agent_dental_bella")[0].draft
    for extra, message in (("\nAlways confirm the booking time.", "confirm times"),
                           ("\nAlways confirm the booking time.\nBe polite.", "polite"),
                           ("\nBe concise.", "concise, no confirm")):
        prompts.save_version("agent_dental_bella", PromptDraft(base.prompt + extra, base.first_message, base.llm,
                                                               base.temperature), message=message)
    app.open_matrix()
    screen = await wait_for(pilot, lambda: isinstance(app.screen, MatrixScreen) and app.screen.matrix
                            and app.screen, what="matrix")
    screen.repeat = 2
    screen.action_fill()
    await wait_for(pilot, lambda: not screen.busy and not screen.matrix.missing(), timeout=30, what="filled")
    await _settle(pilot)


async def scene_prompt(pilot: Any) -> None:
    app = await ready(pilot, "agent_dental_bella")
    app.action_show_pane("prompt")
    editor = app.prompt_pane.query_one("#prompt-text")
    await wait_for(pilot, lambda: app.focused is editor, what="prompt editor focused")
    editor.move_cursor(editor.document.end)
    editor.insert("\nAlways confirm the booking time back to the caller.")
    await _settle(pilot)


async def scene_help(pilot: Any) -> None:
    app = await ready(pilot, "agent_dental_bella")
    app.action_show_pane("prompt")
    await wait_for(pilot, lambda: app.focused is app.prompt_pane.query_one("#prompt-text"), what="editor focused")
    await _settle(pilot)  # (the screen under the help is not redrawn: its notifications go first)
    await pilot.press("f1")
    from convai_tui.tui.widgets.help import HelpScreen

    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
    await _settle(pilot)


SCENES: dict[str, Callable[[Any], Awaitable[None]]] = {
    "main": scene_main,
    "transcript": scene_transcript,
    "simulation": scene_simulation,
    "tests": scene_tests,
    "ab": scene_ab,
    "diff": scene_diff,
    "history": scene_history,
    "compare": scene_compare,
    "matrix": scene_matrix,
    "prompt": scene_prompt,
    "help": scene_help,
}
