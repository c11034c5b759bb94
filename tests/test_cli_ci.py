"""The headless CI commands against the emulator: exit codes, JUnit, --json, export memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import xml.etree.ElementTree as ET


from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig
from convai_tui.workspace.store import Workspace
from convai_tui.workspace.versions import PromptDraft

BELLA = "agent_dental_bella"


def test_agents_list(cli):
    code, out, _ = cli("agents", "list", "--json")
    assert code == 0
    assert {a["agent_id"] for a in json.loads(out)} == {"agent_dental_bella", "agent_sanitas_ro", "agent_acme_support"}
    code, out, _ = cli("agents", "list")
    assert "Asistent Programări Sanitas" in out
    assert ["agent_sanitas_ro", "Asistent Programări Sanitas", "ro,booking"] in [ln.split("\t") for ln in
                                                                                  out.splitlines()]  # cut -f


def test_simulate_success_and_failure_exit_codes(cli):
    code, out, err = cli("simulate", "--agent", "agent_sanitas_ro", "-s", "Romanian caller")
    assert code == 0, err
    assert "Alo, da?" in out and "call: success" in out
    assert "road: simulate-conversation/stream" in err  # progress on stderr, data on stdout
    code, out, err = cli("simulate", "--agent", BELLA, "-s", "Asks about prices", "--json")
    assert code == 1
    res = json.loads(out)
    assert res["passed"] is False and res["road"] == "stream"
    assert res["analysis"]["evaluation_criteria_results"]["no_prices"]["result"] == "failure"
    assert "\x1b[" not in out


def test_simulate_the_local_draft_takes_the_test_road(cli):
    assert cli("pull", BELLA)[0] == 0
    base = cli.ws.list(BELLA)[-1].draft
    cli.ws.save_draft(BELLA, PromptDraft(base.prompt + "\nNever discuss prices.", base.first_message, base.llm,
                                         base.temperature))
    code, out, err = cli("simulate", "-s", "Asks about prices", "--draft", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["road"] == "test" and res["passed"] is True


def test_simulate_unknown_scenario_is_a_usage_error(cli):
    code, _, err = cli("simulate", "--agent", BELLA, "-s", "Nope")
    assert code == 2 and "no scenario 'Nope'" in err and "Difficult caller" in err


def test_test_command_junit_counts_and_rationale(cli):
    junit = cli.tmp / "out" / "junit.xml"
    code, out, err = cli("test", "--agent", BELLA, "--repeat", "2", "--junit", str(junit))
    assert code == 1  # some seeded tests fail on the remote prompt
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == 8 * 2
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) == 3 * 2
    confirm = next(c for c in cases if c.get("name") == "Confirms the booking [run 1]")
    assert "no agent turn confirms" in confirm.find("failure").text
    assert "FAIL" in out and "5/8 tests passed" in out


def test_test_command_json_only_and_draft(cli):
    assert cli("pull", BELLA)[0] == 0
    code, out, _ = cli("test", "--only", "Confirms*", "--json")
    assert code == 1
    res = json.loads(out)
    assert [t["name"] for t in res["tests"]] == ["Confirms the booking"] and res["passed"] is False
    base = cli.ws.list(BELLA)[-1].draft
    cli.ws.save_draft(BELLA, PromptDraft(base.prompt + "\nAlways confirm the booking time.", base.first_message,
                                         base.llm, base.temperature))
    code, out, _ = cli("test", "--only", "Confirms*", "--draft", "--json")
    assert code == 0 and json.loads(out)["tests"][0]["pass_rate"] == 1.0
    code, out, _ = cli("test", "--only", "confirms*", "--branch", "confirm-times", "--json")
    assert code == 0


def test_min_pass_rate_judges_flaky_tests(cli):
    # Acme runs hot (temperature 0.8): repeats of the lookup test flip sometimes
    code, out, _ = cli("test", "--agent", "agent_acme_support", "--only", "Looks up the order", "--repeat", "8",
                       "--json")
    res = json.loads(out)
    rate = res["tests"][0]["pass_rate"]
    assert 0.0 < rate < 1.0, rate  # flaky
    assert code == 1
    code, out, _ = cli("test", "--agent", "agent_acme_support", "--only", "Looks up the order", "--repeat", "8",
                       "--min-pass-rate", str(rate - 0.01), "--json")
    assert code == 0 and json.loads(out)["passed"] is True


def test_test_command_usage_and_api_errors(cli, monkeypatch):
    assert cli("test", "--agent", BELLA, "--repeat", "21")[0] == 2
    code, _, err = cli("test", "--agent", BELLA, "--only", "zzz-no-such")
    assert code == 2 and "no tests to run" in err
    monkeypatch.setenv("ELEVENLABS_API_KEY", "wrong-key-123")
    code, _, err = cli("agents", "list")
    assert code == 4 and "401" in err and "wrong-key-123" not in err


def test_conversations_list_filters_and_show(cli):
    code, out, _ = cli("conversations", "list", "--agent", "agent_sanitas_ro", "--failed", "--limit", "20", "--json")
    rows = json.loads(out)
    assert code == 0 and 0 < len(rows) <= 20
    assert all(r["call_successful"] == "failure" and r["agent_id"] == "agent_sanitas_ro" for r in rows)
    code, out, _ = cli("conversations", "list", "--agent", "agent_sanitas_ro", "--until", "2026-11-01",
                       "--limit", "0", "--json")
    import datetime as dt
    cut = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).timestamp()
    assert all(r["start_time_unix_secs"] < cut for r in json.loads(out))
    code, out, _ = cli("conversations", "list", "--search", "programare", "--limit", "5", "--json")
    assert len(json.loads(out)) == 5
    code, out, _ = cli("conversations", "show", rows[0]["conversation_id"])
    assert "Alo, da?" in out and "call:" in out
    code, out, _ = cli("conversations", "show", "conv_markup_and_escapes")
    assert "\x1b[31m" not in out and "␛[31mnot red" in out and "[bold]not bold[/bold]" in out


def test_conversations_export_to_file(cli):
    out_file = cli.tmp / "export.jsonl"
    code, _, err = cli("conversations", "export", "--agent", BELLA, "--out", str(out_file))
    assert code == 0 and "exported" in err
    lines = out_file.read_text(encoding="utf-8").splitlines()
    state = cli.srv.state
    assert len(lines) == len(state.by_agent[BELLA])
    ids = [json.loads(ln)["conversation_id"] for ln in lines]
    assert len(set(ids)) == len(ids)
    assert not list(cli.tmp.glob(".export.jsonl.partial"))


def test_tests_from_conversation(cli):
    state = cli.srv.state
    conv = state.by_agent[BELLA][0]
    code, out, err = cli("tests", "from-conversation", conv.id, "--upto", "3",
                         "--success-condition", "The agent confirms the booking time.", "--name", "From CLI",
                         "--json")
    assert code == 0, err
    res = json.loads(out)
    assert state.tests[res["id"]]["success_condition"] == "The agent confirms the booking time."
    assert {"test_id": res["id"]} in state.agents[BELLA].platform_settings["testing"]["attached_tests"]
    assert Workspace(cli.tmp).tests(BELLA)[0].sync.remote_id == res["id"]
    code, _, err = cli("tests", "from-conversation", conv.id, "--upto", "999", "--success-condition", "x")
    assert code == 2 and "must be between 0 and" in err


def test_no_color_and_force_color(cli, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, _ = cli("simulate", "--agent", "agent_sanitas_ro", "-s", "Romanian caller")
    assert "\x1b[" in out
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = cli("simulate", "--agent", "agent_sanitas_ro", "-s", "Romanian caller")
    assert "\x1b[" not in out


def test_export_of_100000_conversations_in_bounded_memory(tmp_path):
    """The export streams page by page: exporting 100,000 conversations takes about the same
    peak memory as exporting a tenth of them (measured on the CLI process, not asserted in MB)."""
    with EmulatorServer(EmulatorConfig(conversations=100_000, stream_delay_ms=0)) as srv:
        env = {**os.environ, "ELEVENLABS_API_KEY": srv.api_key, "NO_COLOR": "1"}
        state = srv.state
        since = state.convs[len(state.convs) // 10].start  # newest tenth

        def export(*extra: str) -> int:
            out = tmp_path / f"export{len(extra)}.jsonl"
            r = subprocess.run([sys.executable, "-m", "convai_tui.cli", "conversations", "export", "--base-url",
                                srv.base_url, "--workspace", str(tmp_path), "--out", str(out), *extra],
                               env=env, capture_output=True, text=True, timeout=280)
            assert r.returncode == 0, r.stderr
            return sum(1 for _ in open(out, encoding="utf-8"))

        small = export("--since", str(since))
        rss_small = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        full = export()
        rss_full = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert full == len(state.convs) >= 100_000
    assert small < full / 5
    print(f"export peak RSS: {small:,} conv -> {rss_small} KiB; {full:,} conv -> {rss_full} KiB")
    assert rss_full < rss_small * 1.25, (rss_small, rss_full)


def test_conversation_filters_the_api_has(cli):
    """The useful filters of the published API (issue 14): branch, version, duration, tool, language,
    evaluation criterion; sent as its own parameters (the emulator in strict mode refuses any other), each
    one narrowing the list as the emulator's data says it should."""
    def listed(*flags: str) -> list[dict]:
        code, out, err = cli("conversations", "list", "--agent", "agent_dental_bella", "--limit", "0", "--json", *flags)
        assert code == 0, err
        return json.loads(out)

    everything = listed()
    state = cli.srv.state
    calls = {c.id: c for c in state.by_agent["agent_dental_bella"]}
    assert len(everything) == len(calls) > 20
    long = listed("--min-duration", "60")
    assert long and len(long) < len(everything) and all(c["call_duration_secs"] >= 60 for c in long)
    short = listed("--max-duration", "40")
    assert short and all(c["call_duration_secs"] <= 40 for c in short)
    assert all(c["main_language"] == "en" for c in listed("--language", "en"))
    vid = next(c.version_id for c in calls.values() if getattr(c, "version_id", None))
    served = listed("--version-id", vid)
    assert served and {calls[c["conversation_id"]].version_id for c in served} == {vid}
    booked = listed("--tool", "book_appointment")
    assert 0 < len(booked) < len(everything)
    failed = listed("--criterion", "confirms_booking:failure")
    assert 0 < len(failed) < len(everything)
    code, out, err = cli("conversations", "show", failed[0]["conversation_id"], "--json")
    assert json.loads(out)["analysis"]["evaluation_criteria_results"]["confirms_booking"]["result"] == "failure"
    # combined: all of them at once
    both = listed("--criterion", "confirms_booking:failure", "--tool", "book_appointment")
    assert {c["conversation_id"] for c in both} <= {c["conversation_id"] for c in failed} & {
        c["conversation_id"] for c in booked}
    for bad, needle in ((["--criterion", "confirms_booking"], "CRITERION_ID:RESULT"),
                        (["--min-duration", "50", "--max-duration", "10"], "--min-duration"),
                        (["--min-duration", "-1"], "--min-duration")):
        code, out, err = cli("conversations", "list", *bad)
        assert code == 2 and needle in err, (bad, err)
