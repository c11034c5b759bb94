"""Run history: every run recorded, listed (with runs made elsewhere merged in), opened as it was,
compared (verdicts and noise), used as a CI baseline, and its failures retried."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import httpx
import pytest

from convai_tui.services.runs import fisher_exact, wilson
from convai_tui.workspace.runs import RunStore
from convai_tui.workspace.versions import PromptDraft

from tui_helpers import make_app, ready, wait_for

BELLA = "agent_dental_bella"
ACME = "agent_acme_support"


# ---------------------------------------------------------------------------- statistics
def test_fisher_exact_and_wilson_against_known_values():
    assert fisher_exact(3, 2, 5, 0) == pytest.approx(0.4444, abs=1e-4)  # 3/5 vs 5/5: within noise
    assert fisher_exact(5, 0, 0, 5) == pytest.approx(0.007937, abs=1e-6)  # 5/5 vs 0/5: not
    assert fisher_exact(1, 0, 0, 1) == pytest.approx(1.0)  # one run each tells nothing
    assert fisher_exact(10, 10, 10, 10) == pytest.approx(1.0)
    assert fisher_exact(0, 0, 3, 1) == 1.0
    # symmetric in the runs
    assert fisher_exact(2, 8, 7, 3) == pytest.approx(fisher_exact(7, 3, 2, 8))
    lo, hi = wilson(3, 5)
    assert 0.23 < lo < 0.24 and 0.88 < hi < 0.89


# ---------------------------------------------------------------------------- CLI: record, list, compare, baseline
def _draft(cli, extra: str) -> None:
    base = cli.ws.list(BELLA)[-1].draft
    cli.ws.save_draft(BELLA, PromptDraft(base.prompt + extra, base.first_message, base.llm, base.temperature))


def test_every_run_is_recorded_and_listed(cli):
    assert cli("pull", BELLA)[0] == 0
    code, out, err = cli("test", "--repeat", "2", "--json")
    assert code == 1
    res = json.loads(out)
    run_id = res["run_id"]
    code, out, err = cli("simulate", "-s", "Cancels", "--json")
    sim_id = json.loads(out)["run_id"]
    files = sorted(p.name for p in (cli.ws.agent_dir(BELLA) / "runs").iterdir())
    assert files == sorted([f"{run_id}-test.jsonl", f"{sim_id}-simulation.jsonl"])
    code, out, err = cli("runs", "list", "--json", "--offline")
    runs = json.loads(out)
    assert [r["id"] for r in runs] == [sim_id, run_id]  # newest first
    test_run = runs[1]
    assert test_run["target"]["label"] == "remote main" and test_run["invocation_id"] == res["invocation_id"]
    assert test_run["failed"] == 6 and test_run["passed"] == 10 and len(test_run["failed_tests"]) == 3
    # the file is plain JSON lines: a header, the summary, the prompt, then one line per result
    lines = (cli.ws.agent_dir(BELLA) / "runs" / f"{run_id}-test.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["convai_tui_run"] == 1 and "summary" in json.loads(lines[1])
    assert len(lines) == 3 + 16 and json.loads(lines[3])["result"]["rationale"]
    code, out, err = cli("runs", "show", run_id)
    assert code == 0 and "Confirms the booking" in out and "0/2" in out
    code, out, err = cli("runs", "show", sim_id, "--simulation")
    assert code == 0 and "call:" in out


def test_baseline_gates_only_on_regressions(cli):
    assert cli("pull", BELLA)[0] == 0
    code, out, _ = cli("test", "--json")  # the baseline: 5 of 8 pass on the remote
    base_id = json.loads(out)["run_id"]
    # a draft that fixes one test and breaks none: passes although 2 tests still fail
    _draft(cli, "\nAlways confirm the booking time.")
    junit = cli.tmp / "junit.xml"
    code, out, err = cli("test", "--draft", "--baseline", base_id, "--junit", str(junit))
    assert code == 0, out + err
    assert "fixed" in out and "no regression" in out and "still failing" in out
    suite = ET.parse(junit).getroot()
    assert int(suite.get("failures")) == 0 and int(suite.get("skipped")) == 2  # pre-existing failures: skipped
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["baseline"] == base_id and props["regressions"] == "0" and props["target.kind"] == "draft"
    # a draft that makes things worse: exit 1, with the comparison in --json
    _draft(cli, "\nBe rude and curt.")
    code, out, err = cli("test", "--draft", "--baseline", base_id, "--json")
    assert code == 1
    res = json.loads(out)
    assert res["passed"] is False and "test_bella_polite" in res["baseline"]["regressions"]
    polite = next(t for t in res["baseline"]["tests"] if t["test_id"] == "test_bella_polite")
    assert polite["verdict"] == "newly failing" and polite["a"]["passed"] == 1 and polite["b"]["passed"] == 0
    # the baseline can be named: latest, remote, v1 (its most recent run, by content)
    for ref in ("remote", "v1"):
        code, out, _ = cli("runs", "compare", ref, "latest", "--json")
        assert code == 0 and json.loads(out)["a"]["id"] == base_id
    code, _, err = cli("test", "--baseline", "nonexistent-run")
    assert code == 2 and "no recorded test run matches" in err


def test_compare_says_when_a_difference_is_within_noise(cli):
    code, out, _ = cli("test", "--agent", ACME, "--only", "Looks up the order", "--repeat", "8", "--json")
    a = json.loads(out)["run_id"]
    code, out, _ = cli("test", "--agent", ACME, "--only", "Looks up the order", "--repeat", "8", "--json")
    b = json.loads(out)["run_id"]
    code, out, err = cli("runs", "compare", a, b, "--agent", ACME, "--json")
    row = json.loads(out)["tests"][0]
    assert row["flaky"] and 0 < row["b"]["passed"] < 8 and row["p_value"] == pytest.approx(1.0)
    code, out, err = cli("runs", "compare", a, b, "--agent", ACME)
    assert "flaky" in out


def test_retry_failed_runs_join_the_run(cli):
    code, out, _ = cli("test", "--agent", ACME, "--repeat", "4", "--json")
    first = json.loads(out)
    failed = sum(t["runs"] - t["passed_runs"] for t in first["tests"])
    assert failed
    before = len(cli.srv.state.invocations)
    code, out, err = cli("test", "--agent", ACME, "--retry-failed", first["run_id"], "--json")
    assert code in (0, 1), err
    assert len(cli.srv.state.invocations) == before  # resubmitted into the same invocation, not a new run
    retried = json.loads(out)
    assert retried["run_id"] == first["run_id"] and retried["invocation_id"] == first["invocation_id"]
    runs = json.loads(cli("runs", "list", "--agent", ACME, "--json", "--offline")[1])
    assert len(runs) == 1 and len(runs[0]["retries"]) == 1  # the retry joined the run, no new run
    retry_file = next((cli.ws.agent_dir(ACME) / "runs").glob("*-test-retry.jsonl"))
    head = json.loads(retry_file.read_text(encoding="utf-8").splitlines()[0])
    assert head["parent"] == first["run_id"] and head["passed"] + head["failed"] == failed
    code, out, err = cli("test", "--agent", BELLA, "--retry-failed", "latest")
    assert code == 2 and "no recorded test runs" in err


def test_runs_made_elsewhere_are_merged_in(cli):
    # a run made from the dashboard (or CI, or another machine): straight through the API
    h = {"xi-api-key": cli.srv.api_key}
    r = httpx.post(f"{cli.srv.base_url}/v1/convai/agents/{BELLA}/run-tests", headers=h,
                   json={"tests": [{"test_id": "test_bella_polite"}, {"test_id": "test_bella_confirms"}]})
    inv_id = r.json()["id"]
    code, out, err = cli("runs", "list", "--agent", BELLA, "--offline", "--json")
    assert inv_id not in out  # not merged while offline
    ids = {inv_id}
    merged = []
    for _ in range(50):  # the dashboard's run finishes a moment later; the merge takes finished runs only
        code, out, err = cli("runs", "list", "--agent", BELLA, "--json")
        merged = [x for x in json.loads(out) if x["invocation_id"] in ids]
        if merged:
            break
    assert merged and merged[0]["source"] == "remote" and merged[0]["target"]["label"] == "remote main"
    code, out, _ = cli("runs", "list", "--agent", BELLA, "--json")
    assert len([x for x in json.loads(out) if x["invocation_id"] in ids]) == 1  # merged once


# ---------------------------------------------------------------------------- the store
def test_run_files_are_never_replaced_and_bad_ones_are_skipped(tmp_path):
    from convai_tui.workspace.errors import ExternalEditConflict
    from convai_tui.workspace.files import create_new

    path = tmp_path / "runs" / "x.jsonl"
    create_new(path, b"first\n")
    with pytest.raises(ExternalEditConflict):
        create_new(path, b"second\n")
    assert path.read_bytes() == b"first\n" and not list((tmp_path / "runs").glob(".*"))
    store = RunStore(tmp_path)
    (tmp_path / "runs" / "y.jsonl").write_text('{"not": "a header"}\n', encoding="utf-8")
    assert store.headers(tmp_path) == [] and len(store.problems) == 2


# ---------------------------------------------------------------------------- the TUI
async def test_history_compare_and_retry_in_the_tui(tmp_path):
    from convai_tui.tui.runs.compare import CompareScreen
    from convai_tui.tui.runs.history import HistoryScreen
    from convai_tui.tui.runs.run_view import RunScreen
    from convai_tui.tui.tests.run_detail import RunDetailScreen

    app = make_app(workspace_dir=tmp_path, test_delay_ms=150)
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, BELLA)
        pane = app.tests_pane
        await pilot.press("4", "r")
        await wait_for(pilot, lambda: pane.run_header is not None, timeout=20, what="first run recorded")
        first = pane.run_header
        await pilot.press("2", "ctrl+end", "enter", *"Always confirm the booking time.")
        pane.query_one("#tests-target").value = "draft"
        await pilot.press("alt+4", "r")
        await wait_for(pilot, lambda: pane.run_header not in (None, first), timeout=20, what="second run recorded")
        second = pane.run_header
        assert second.target["kind"] == "draft" and second.target["content_hash"]
        await pilot.press("h")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen, what="history")
        table = screen.query_one("#hist-table")
        assert table.keys[:2] == [second.id, first.id]
        await pilot.press("c")  # the highlighted (newest) run against the one before it
        cmp = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen, what="compare")
        cmp_table = cmp.query_one("#cmp-table")
        rows = {c[0].plain: c[4].plain for c in map(cmp_table.cells_at, range(cmp_table.row_count))}
        assert rows["Confirms the booking"] == "fixed" and rows["Greets politely"] == "passing"
        assert "no regression" in str(cmp.query_one("#cmp-status").render())
        await pilot.press("escape", "enter")  # open the newest run as it was
        run = await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen, what="run")
        grid = run.query_one("#run-grid")
        assert grid.rate("test_bella_confirms") == (1, 1)
        grid.focus()
        await pilot.press("enter")
        detail = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen, what="detail")
        assert "draft ·" in str(detail.query_one("Static").render())
        await pilot.press("escape", "escape", "escape")
        await wait_for(pilot, lambda: app.screen is app.main, what="back")
        # retry the failures of the last run: they join it
        app.action_show_pane("tests")
        await pilot.press("R")
        await wait_for(pilot, lambda: app.session.runs.list(BELLA)[0].retries, timeout=20, what="retry joined")
        mine = [v for v in app.session.runs.list(BELLA) if v.header.source == "local"]
        assert len(mine) == 2  # the retry joined its run (the others were merged from the demo's history)


async def test_ab_lanes_are_recorded_and_reopen_side_by_side(tmp_path):
    from convai_tui.tui.runs.compare import CompareScreen
    from convai_tui.tui.runs.history import HistoryScreen

    app = make_app(workspace_dir=tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot, BELLA)
        await pilot.press("2", "ctrl+end", "enter", *"Always confirm the booking time.")
        await pilot.press("alt+3", "b")
        await wait_for(pilot, lambda: app.screen.query_one("#ab-run").region.width, what="A/B dialog")
        await pilot.click("#ab-run")
        sim = app.simulation_pane
        await wait_for(pilot, lambda: all(sim.lanes[x].run_id for x in "ab"), timeout=30, what="both lanes recorded")
        sims = [v for v in app.session.runs.list(BELLA) if v.header.kind == "simulation"]
        assert len(sims) == 2 and sims[0].header.group == sims[1].header.group
        assert {v.header.target["kind"] for v in sims} == {"remote", "draft"}
        app.open_history(BELLA)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen, what="history")
        await pilot.press("c")
        cmp = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen, what="compare")
        text = cmp.query_one("#cmp-pairs").plain()
        assert "Hi, you've reached Bella Dental" in text  # turn 0 of both, side by side
        pairs = cmp.query_one("#cmp-pairs").rows
        b_lane = " ".join(b.plain for _, b in pairs if b is not None)
        a_lane = " ".join(a.plain for a, _ in pairs if a is not None)
        assert "To confirm" in b_lane and "To confirm" not in a_lane  # the draft's lane confirms, the remote's not
        assert "confirms_time" in str(cmp.query_one("#cmp-analysis").render())
