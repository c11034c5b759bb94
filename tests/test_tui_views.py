"""Reading at 80x24, copying over SSH, searching (issue #18): nothing cut without a way to see it
whole, OSC 52 copies, search combined with the filters, search inside a transcript."""

from __future__ import annotations

import base64
import re

from rich.cells import cell_len
from textual.widgets import Input, TextArea

from convai_tui.tui.conversations.transcript import TranscriptScreen
from convai_tui.tui.prompt.diff import DiffScreen
from convai_tui.tui.prompt.restore import RestoreDraftScreen
from convai_tui.tui.terminal import clipboard_hint, osc52, screen_passthrough
from convai_tui.tui.widgets.diffview import DiffView
from convai_tui.tui.widgets.transcript_view import TranscriptView

from showcase import SCENES, run_ab
from tui_helpers import make_app, ready, wait_for

AGENT = "agent_dental_bella"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_osc52_and_where_a_copy_cannot_arrive():
    assert osc52("héllo") == f"\x1b]52;c;{_b64('héllo')}\a"
    wrapped = screen_passthrough(osc52("x" * 2000))
    assert wrapped.startswith("\x1bP\x1b]52;c;") and wrapped.count("\x1bP") > 1 and wrapped.endswith("\x1b\\")
    assert "set-clipboard on" in clipboard_hint({"TMUX": "/tmp/tmux-0/default,1,0"}, tmux_option="external")
    assert clipboard_hint({"TMUX": "/tmp/tmux-0/default,1,0"}, tmux_option="on") == ""
    assert "GNU screen" in clipboard_hint({"STY": "123.pts-0"})
    assert "macOS Terminal" in clipboard_hint({"TERM_PROGRAM": "Apple_Terminal"})
    assert clipboard_hint({"TERM": "xterm-256color"}) == ""


async def test_copies_write_osc52_to_the_terminal(monkeypatch):
    for var in ("TMUX", "STY", "TERM_PROGRAM"):
        monkeypatch.delenv(var, raising=False)
    app = make_app(test_delay_ms=50)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, AGENT)
        written: list[str] = []
        app._driver.write = written.append  # type: ignore[method-assign]

        def copied() -> list[str]:
            return [base64.b64decode(w[len("\x1b]52;c;"):-1]).decode() for w in written if w.startswith("\x1b]52;")]

        # the prompt, from the prompt pane (Esc out of the editor, then c)
        await pilot.press("2", "escape", "c")
        await wait_for(pilot, lambda: copied(), what="the prompt copied")
        assert copied()[-1] == app.prompt_pane.query_one("#prompt-text", TextArea).text
        # a turn and the whole transcript
        conv = app.conversations_pane.table.keys[0]
        app.open_transcript(conv, 1)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv
                                and app.screen, what="transcript")
        await pilot.press("c")
        await wait_for(pilot, lambda: len(copied()) == 2, what="a turn copied")
        from convai_tui.textutil import safe

        turn = screen.conv.transcript[1]
        assert copied()[-1].startswith("#1 ") and safe(turn.message) in copied()[-1]
        await pilot.press("C")
        await wait_for(pilot, lambda: len(copied()) == 3, what="the transcript copied")
        assert copied()[-1].count("\n#") == len(screen.conv.transcript) - 1
        await pilot.press("escape")
        # a change in the diff
        editor = app.prompt_pane.query_one("#prompt-text", TextArea)
        editor.load_text(editor.text + "\nAlways confirm the booking time.")
        app.prompt_pane.action_diff()
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.query_one(DiffView).sbs.hunks,
                       what="diff")
        await pilot.press("c")
        await wait_for(pilot, lambda: len(copied()) == 4, what="a change copied")
        assert copied()[-1].splitlines()[-1] == "+Always confirm the booking time."
        await pilot.press("escape")
        # a test run's rationale
        from convai_tui.tui.tests.run_detail import RunDetailScreen

        pane = app.tests_pane
        await pilot.press("4", "r")
        await wait_for(pilot, lambda: pane.runs and not pane.polling, timeout=20, what="runs")
        grid = pane.grid
        grid.focus()
        await pilot.press(*["down"] * grid.index["test_bella_confirms"], "right", "enter")
        detail = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen, what="detail")
        await pilot.press("c")
        await wait_for(pilot, lambda: len(copied()) == 5, what="rationale copied")
        from convai_tui.services.tests import rationale_of

        why = rationale_of(detail.run)
        assert copied()[-1] == why and why
        # (and the dialog names the target, and gives the rationale once)
        assert "Target: remote main" in detail.text.plain and detail.text.plain.count(why) == 1
        assert "remote main" in str(app.main.query_one("#tests-status").render())


async def test_search_then_a_transcript_its_search_feedback_and_a_test(tmp_path):
    from convai_tui.tui.conversations.create_test import CreateTestScreen
    from convai_tui.workspace.store import Workspace

    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, AGENT)
        versions = len(Workspace(tmp_path).list(AGENT))
        pane = app.conversations_pane
        state = app.session.emulator.state
        pane.query_one("#conv-success").value = "failure"
        await wait_for(pilot, lambda: pane._applied.success == "failure" and not pane.fetching, what="failed only")
        await pilot.press("/")
        search = pane.query_one("#conv-search", Input)
        assert app.focused is search
        await pilot.press(*"booking", "enter")
        await wait_for(pilot, lambda: pane._applied.search == "booking" and not pane.fetching
                       and pane.table.row_count, what="search with the filter")
        ids = list(pane.table.keys)
        assert all(state.conv_by_id[i].success == "failure" for i in ids)
        all_failed = [c for c in state.by_agent[AGENT] if c.success == "failure"]
        assert len(ids) < len(all_failed)  # the search narrowed the failed calls
        assert "matching “booking”" in str(pane.query_one("#conv-status").render())
        await wait_for(pilot, lambda: app.focused is pane.table, what="the results take focus")
        # Down from the search box: the results
        await pilot.press("/")
        assert app.focused is search and search.value == "booking"
        await pilot.press("down")
        assert app.focused is pane.table
        # Enter opens the transcript with the term searched
        await pilot.press("enter")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv
                                and app.screen, what="transcript")
        assert screen.search == "booking"

        # / searches the transcript: hits highlighted, n / N between them (wrapping around)
        view = screen.query_one(TranscriptView)
        counts: dict[str, int] = {}
        for t in screen.conv.transcript:
            for w in {w.strip(".,!?").lower() for w in (t.message or "").split()}:
                if len(w) >= 4 and w.isalpha():
                    counts[w] = counts.get(w, 0) + 1
        term = sorted(counts, key=lambda w: (-counts[w], w))[0]
        await pilot.press("/")
        box = screen.query_one("#tr-search", Input)
        assert app.focused is box
        await pilot.press("ctrl+u", *term, "enter")
        assert app.focused is view
        hits = view.hits()
        assert len(hits) >= 2 and view.highlighted == hits[0]
        assert f"“{term}”: 1/" in view.border_subtitle
        strips = view._strips(hits[0])
        assert any(seg.text.lower() == term and seg.style and seg.style.bgcolor for st in strips for seg in st)
        await pilot.press("n")
        assert view.highlighted == hits[1]
        await pilot.press("N")
        assert view.highlighted == hits[0]
        await pilot.press("N")  # wraps around
        assert view.highlighted == hits[-1]

        # like: the header says so at once
        await pilot.press("l")
        await wait_for(pilot, lambda: "feedback: like" in str(screen.query_one("#tr-header").render()),
                       what="the header updated")
        # a test from a turn: created, saved, and no duplicate "pulled" version left behind
        await pilot.press("home", "down", "down", "t")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateTestScreen), what="form")
        await pilot.press(*"The agent confirms the time.", "ctrl+s")
        await wait_for(pilot, lambda: Workspace(tmp_path).tests(AGENT), what="test saved")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TranscriptScreen), what="back")
        await wait_for(pilot, lambda: any(t.name == "From " + screen.conv.conversation_id[:14] + " turn 2"
                                          for t in app.tests_pane.tests), what="the agent reloaded")
        assert len(Workspace(tmp_path).list(AGENT)) == versions


def test_cli_search_combines_with_failed(cli):
    import json

    code, out, _ = cli("conversations", "list", "--agent", AGENT, "--failed", "--search", "booking", "--limit", "0",
                       "--json")
    rows = json.loads(out)
    assert code == 0 and rows
    assert all(r["call_successful"] == "failure" for r in rows)
    code, out, _ = cli("conversations", "list", "--agent", AGENT, "--failed", "--limit", "0", "--json")
    assert len(rows) < len(json.loads(out))


async def test_nothing_is_cut_at_80x24():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await SCENES["simulation"](pilot)
        sim = app.simulation_pane
        lane = sim.lanes["a"]
        # the turns keep most of the lane; the analysis scrolls in what is left
        assert lane.view.region.height >= lane.analysis_box.region.height
        assert lane.view.region.height >= 6
        # every turn's text is on its lines, whole (wrapping lost nothing)
        view = lane.view
        for i, t in enumerate(view.turns):
            shown = "".join(s.text[18:] for s in view._strips(i)).replace(" ", "")
            for piece in (t.message or "").split():
                assert piece in shown, (i, piece)
        # v hides and shows the analysis
        await pilot.press("v")
        assert not lane.analysis_box.display
        await pilot.press("v")
        assert lane.analysis_box.display

        # the prompt's fields are labelled and show their whole value
        app.action_show_pane("prompt")
        pane = app.prompt_pane
        await wait_for(pilot, lambda: pane.query_one("#prompt-first").region.width, what="prompt pane")
        labels = [str(w.render()) for w in pane.query(".field-label")]
        assert labels == ["First message", "LLM", "Temp"]
        first = pane.query_one("#prompt-first", TextArea)
        assert first.region.height * (first.region.width - 2) >= cell_len(first.text)
        for wid in ("#prompt-llm", "#prompt-temp"):
            field = pane.query_one(wid, Input)
            assert field.region.width > cell_len(field.value), wid

        # a dialog's text wraps instead of being cut
        app.push_screen(RestoreDraftScreen("2026-11-27 21:14:03 UTC (a long time ago, in a galaxy far away)", 12345))
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, RestoreDraftScreen) and app.screen,
                                what="dialog")
        await pilot.pause()
        text = dialog.query_one("Label")
        assert text.region.height >= 2 and text.region.width <= 80
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RestoreDraftScreen), what="dialog closed")

        # the status of a failed call has no tick; an A/B's criteria line up; a single run after an A/B
        # has one lane, no "A" and no stale B
        app.action_show_pane("simulation")
        status = str(app.main.query_one("#sim-status").render())
        assert status.startswith("✗") and "call failure" in status
        await run_ab(pilot, app)
        compare = str(app.main.query_one("#sim-compare").render())
        rows = compare.splitlines()[1:]
        assert rows and all(re.search(r" A [✓✗?] (success|failure|unknown) +B [✓✗?] ", r) for r in rows), compare
        sim.action_run()
        await wait_for(pilot, lambda: sim.lanes["a"].finished and not sim.running and "b" not in sim.lanes,
                       what="single run")
        await wait_for(pilot, lambda: "turns" in str(app.main.query_one("#sim-status").render()), what="status")
        status = str(app.main.query_one("#sim-status").render())
        assert " B " not in status and not status[2:].startswith("A ")
        assert not sim.lane_text("a").startswith("A ") and app.main.query_one("#sim-lane-b").has_class("-hidden")

        await _the_diff_wraps_long_lines_and_n_works_at_once(pilot, app)


async def _the_diff_wraps_long_lines_and_n_works_at_once(pilot, app) -> None:
    editor = app.prompt_pane.query_one("#prompt-text", TextArea)
    long_line = "Keep answers short; this is a phone call, and always end with the booking reference WX-42."
    editor.load_text(editor.text.replace("Keep answers short; this is a phone call.", long_line))
    app.prompt_pane.action_diff()
    screen = await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.query(DiffView)
                            and app.screen, what="diff")
    view = screen.query_one(DiffView)
    await wait_for(pilot, lambda: app.focused is view, what="the diff focused")
    await wait_for(pilot, lambda: view.current_hunk == 0, what="opened at the first change")
    row = view.sbs.hunks[0]
    first = view.row_line(row)
    height = view.row_line(row + 1) - first
    assert height >= 2  # the long line wraps on both sides in lockstep
    lines = [view.render_line(first + k - int(view.scroll_offset.y)).text for k in range(height)]
    right = "".join(line[len(line) // 2 + 2:][6:] for line in lines)
    assert "WX-42." in right  # the change at the end of the long line is on screen
    # the changed words keep their highlight on the wrapped line
    last = view.render_line(first + height - 1 - int(view.scroll_offset.y))
    assert any("WX-42" in seg.text and seg.style and seg.style.bold for seg in last)
    await pilot.press("p")
    assert view.current_hunk == 0  # one change: p stays on it
