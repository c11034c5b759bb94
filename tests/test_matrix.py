"""Versions side by side with evidence: the test x version matrix (and filling only its gaps), the diff
that knows the results, bisecting a test's first failing version."""

from __future__ import annotations

import json
import math

from convai_tui.workspace.versions import PromptDraft

from tui_helpers import make_app, ready, wait_for

BELLA = "agent_dental_bella"
CONFIRM = "Always confirm the booking time."


def _versions(cli, with_confirm: list[bool]) -> None:
    """Save one version per flag after the pulled v1: the prompt with or without the confirm rule."""
    base = cli.ws.list(BELLA)[0].draft
    for i, on in enumerate(with_confirm):
        text = base.prompt + f"\nVersion note {i}." + (f"\n{CONFIRM}" if on else "")
        cli.ws.save(BELLA, PromptDraft(text, base.first_message, base.llm, base.temperature), message=f"step {i}")


def _invocations(cli) -> int:
    return len(cli.srv.state.invocations)


def test_matrix_fills_only_the_gaps_in_the_fewest_calls(cli):
    assert cli("pull", BELLA, "--no-tests")[0] == 0
    _versions(cli, [True])  # v2 confirms
    v2 = cli.ws.list(BELLA)[-1].draft
    cli.ws.save_draft(BELLA, v2)  # the draft is the same prompt as v2
    code, out, err = cli("matrix", "--json")
    m = json.loads(out)
    assert [c["key"] for c in m["columns"]] == ["v1", "v2", "draft", "remote"]
    assert all(not cell["runs"] for row in m["rows"] for cell in row["cells"].values())
    before = _invocations(cli)
    code, out, err = cli("matrix", "--fill", "--repeat", "2", "--json")
    assert code == 0, err
    # v1 is the remote's prompt and the draft is v2's: two distinct prompts, two run-tests calls
    assert _invocations(cli) - before == 2
    m = json.loads(out)
    rows = {r["test_id"]: r for r in m["rows"]}
    confirms = rows["test_bella_confirms"]["cells"]
    assert (confirms["v1"]["passed"], confirms["v1"]["runs"]) == (0, 2)
    assert (confirms["v2"]["passed"], confirms["v2"]["runs"]) == (2, 2)
    assert confirms["draft"] == confirms["v2"] and confirms["remote"] == confirms["v1"]  # matched by content
    assert m["rows"][0]["test_id"] == "test_bella_confirms"  # sorted by disagreement
    overall = {c["key"]: c["overall"]["rate"] for c in m["columns"]}
    assert overall["v2"] > overall["v1"]
    # nothing is missing any more: a second fill runs nothing
    before = _invocations(cli)
    assert cli("matrix", "--fill")[0] == 0 and _invocations(cli) == before


def test_diff_with_results_says_what_the_change_did(cli):
    assert cli("pull", BELLA, "--no-tests")[0] == 0
    _versions(cli, [True])
    assert cli("matrix", "--targets", "v1,v2", "--fill")[0] == 0
    code, out, err = cli("diff", "v1", "v2", "--results")
    assert code == 0, err
    assert f"+{CONFIRM}" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("Confirms the booking"))
    assert "0/1" in line and "1/1" in line and "now passes" in line


def test_bisect_finds_the_first_failing_version_with_few_runs(cli):
    assert cli("pull", BELLA, "--no-tests")[0] == 0
    _versions(cli, [True, True, True, True, False, False, False])  # v2..v5 confirm, v6..v8 do not
    code, out, err = cli("bisect", "--test", "Confirms the booking", "--good", "v2", "--bad", "v8", "--repeat", "3",
                         "--json")
    assert code == 0, err
    res = json.loads(out)
    assert (res["culprit"], res["predecessor"]) == (6, 5)
    assert any(f"-{CONFIRM}" == ln for ln in res["diff"])  # the culprit's diff against its predecessor
    # the two ends plus a binary search over the 5 versions between them
    assert res["run_tests_calls"] <= 2 + math.ceil(math.log2(6))
    assert all(s["total"] == 3 for s in res["steps"])  # each step judged on 3 runs
    recorded = json.loads(cli("runs", "list", "--offline", "--json")[1])
    assert len(recorded) == res["run_tests_calls"]  # every step is a recorded run
    # again: the recorded runs are the evidence, no new run
    code, out, _ = cli("bisect", "--test", "Confirms", "--good", "v2", "--bad", "v8", "--repeat", "3", "--json")
    assert json.loads(out)["run_tests_calls"] == 0 and json.loads(out)["culprit"] == 6
    code, _, err = cli("bisect", "--test", "Confirms", "--good", "v6", "--bad", "v8")
    assert code == 2 and "is not good" in err


async def test_matrix_screen_fills_and_bisects(tmp_path):
    from convai_tui.tui.prompt.diff import DiffScreen
    from convai_tui.tui.runs.matrix import MatrixScreen

    app = make_app(workspace_dir=tmp_path, test_delay_ms=50)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, BELLA)
        prompts = app.session.prompts
        base = prompts.versions(BELLA)[0].draft
        for on in (True, True, False):
            text = base.prompt + (f"\n{CONFIRM}" if on else "\nBe brief.")
            prompts.save_version(BELLA, PromptDraft(text, base.first_message, base.llm, base.temperature))
        app.open_matrix()
        screen = await wait_for(pilot, lambda: isinstance(app.screen, MatrixScreen) and app.screen.matrix
                                and app.screen, what="matrix")
        view = screen.query_one("#mx-view")
        assert [h for h, _ in view.columns] == ["v1", "v2", "v3", "v4", "remote"]
        await pilot.press("f")
        await wait_for(pilot, lambda: not screen.busy and not screen.matrix.missing(), timeout=30, what="filled")
        row = next(i for i, n in enumerate(view.names) if n == "Confirms the booking")
        assert [t for t, _ in view.cells[row]] == ["0/1", "1/1", "1/1", "0/1", "0/1"]
        # the live-call footer: v1 is the remote's prompt, which served the demo's recent calls
        footers = await wait_for(pilot, lambda: dict(view.footers), what="live-call footer")
        assert footers["live calls"][0] and footers["live calls"][0] == footers["live calls"][4]
        assert not footers["live calls"][1]  # a local edit served no call
        view.cursor_row = row
        await pilot.press("b")
        diff = await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen, timeout=30,
                              what="the culprit's diff")
        assert (diff.a, diff.b) == ("v3", "v4")
        results = await wait_for(pilot, lambda: str(diff.query_one("#diff-results").render()), what="results")
        assert "Confirms the booking" in results and "now fails" in results


def test_live_calls_per_version_beside_the_tests(cli):
    """The demo's history has four versions on main, each of which served real calls: pull --history
    saves them, and versions --stats / matrix put their live results beside the test results."""
    code, out, err = cli("pull", BELLA, "--history", "--no-tests", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["history_versions"] == [1, 2, 3] and res["saved_version"] == 4
    versions = cli.ws.list(BELLA)
    assert versions[0].message == "Initial version" and versions[0].source.startswith("remote:agtvrsn_")
    code, out, err = cli("versions", "--stats", "--json")
    assert code == 0, err
    stats = {v["number"]: v for v in json.loads(out)["versions"]}
    assert all(stats[n]["live"]["calls"] > 0 for n in (1, 2, 3, 4))
    rates = {n: stats[n]["live"]["success_rate"] for n in (1, 2, 3, 4)}
    assert max(rates, key=lambda n: rates[n]) == 3  # the version that asked for names and confirmed times
    assert stats[3]["live"]["criteria"]["confirms_booking"]["rate"] == 1.0
    assert stats[4]["live"]["criteria"]["confirms_booking"]["rate"] == 0.0
    # the calls really are the version's: the API's version_id filter, checked against the emulator's data
    vid = stats[3]["live"]["version_id"]
    state = cli.srv.state
    served = sum(1 for c in state.by_agent[BELLA] if getattr(c, "version_id", None) == vid)
    assert served == stats[3]["live"]["calls"] or stats[3]["live"]["capped"]
    # the same evidence as the matrix's footer, beside the test results
    assert cli("matrix", "--targets", "v3,v4", "--fill")[0] == 0
    code, out, err = cli("matrix", "--targets", "v3,v4", "--json")
    cols = {c["key"]: c for c in json.loads(out)["columns"]}
    assert cols["v3"]["live"]["calls"] == stats[3]["live"]["calls"]
    assert cols["v3"]["overall"]["rate"] > cols["v4"]["overall"]["rate"]
    code, out, err = cli("matrix", "--targets", "v3,v4")
    assert "live calls" in out and "call success" in out


async def test_versions_dialog_shows_each_versions_live_calls(tmp_path):
    """The TUI's versions list (ctrl+o) puts each saved version's real-call success beside it, from the
    same service as ``versions --stats``: v3 (asks names, confirms times) leads v4 on the demo's calls."""
    from convai_tui.tui.prompt.versions import VersionsScreen

    app = make_app(workspace_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, BELLA)
        await app.session.prompts.pull(BELLA, history=True, with_tests=False)
        app.action_show_pane("prompt")
        await wait_for(pilot, lambda: app.focused is app.prompt_pane.query_one("#prompt-text"), what="editor")
        await pilot.press("ctrl+o")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen,
                                what="versions")
        await wait_for(pilot, lambda: screen.stats_state == "done", timeout=20, what="live stats")
        rates = {n: st.live.success_rate for n, st in screen.stats.items() if st.live}
        assert len(rates) >= 4  # the remote's four versions on main (the TUI saved the newest first)
        best = max(rates, key=lambda n: rates[n])
        assert "confirm" in screen.stats[best].version.draft.prompt.lower()
        state = app.session.emulator.state
        live = screen.stats[best].live
        served = sum(1 for c in state.by_agent[BELLA] if getattr(c, "version_id", None) == live.version_id)
        assert served == live.calls or live.capped
        shown = str(screen.query_one("#pv-list").get_option(str(best)).prompt)
        assert f"{rates[best] * 100:.0f}%" in shown and f"{live.calls:,}" in shown


async def test_matrix_columns_read_the_versions_once(tmp_path, monkeypatch):
    """Twenty version columns used to read the whole versions folder once each (420 TOML files parsed:
    a second before a 20-version matrix showed). The versions are read once for all the columns."""
    from convai_tui.services.session import Session, Settings
    from convai_tui.workspace.store import Workspace

    s = Session(Settings.of(demo=True, workspace=tmp_path))
    try:
        await s.prompts.pull(BELLA, with_tests=False)
        base = s.prompts.versions(BELLA)[0].draft
        for n in range(2, 21):
            s.prompts.save_version(BELLA, PromptDraft(base.prompt + f"\nRule {n}.", base.first_message, base.llm,
                                                      base.temperature), message=f"v{n}")
        reads = []
        real = Workspace.list
        monkeypatch.setattr(Workspace, "list", lambda self, agent_id: reads.append(agent_id) or real(self, agent_id))
        cols = await s.matrix.columns(BELLA, [f"v{n}" for n in range(1, 21)] + ["remote"])
        assert [c.key for c in cols] == [f"v{n}" for n in range(1, 21)] + ["remote"]
        assert len({c.content_hash for c in cols[:20]}) == 20 and cols[0].content_hash == cols[-1].content_hash
        assert len(reads) == 1, reads
    finally:
        await s.close()
