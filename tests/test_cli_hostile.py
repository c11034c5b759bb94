"""The command line against hostile text and hostile surroundings: escape sequences from the API are
shown, never obeyed; a closed pipe, a full disk, a directory, a symlink or a nonsense value is a one-line
reason with exit 2 (or a quiet 141 for a closed pipe), never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import httpx
import pytest

from convai_tui.commands.output import Output
from convai_tui.commands.render import print_turn

BELLA = "agent_dental_bella"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # a clipboard write
EVIL = f"Bella {OSC52}\x1b[2J\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\x07\u202eevil\x9b31m"


def _no_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\u202e" not in text, repr(text)


def test_api_text_never_reaches_the_terminal_raw(cli, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # even with colour on, only our own styles are escape codes
    h = {"xi-api-key": cli.srv.api_key}
    httpx.patch(f"{cli.srv.base_url}/v1/convai/agents/{BELLA}", headers=h,
                json={"name": EVIL, "tags": [EVIL]}).raise_for_status()
    code, out, err = cli("agents", "list")
    assert code == 0 and "Bella" in out
    payload = out.replace("\x1b[", "")  # Rich's own SGR codes start "ESC [" and end "m"
    _no_controls(payload.replace("[0m", ""))
    assert "␛]52;c;" in out  # shown, visibly
    # --json stays exact JSON (escaped), and is the same data
    code, out, _ = cli("agents", "list", "--json")
    assert "\x1b" not in out and "\x07" not in out
    assert any(a["name"] == EVIL for a in json.loads(out))
    # an error message carrying server text: a 404 echoes the id it was given
    monkeypatch.delenv("FORCE_COLOR")
    code, out, err = cli("conversations", "show", f"conv{OSC52}\x1b[2J")
    assert code == 4 and "not found" in err.lower()
    _no_controls(err)


def test_a_newline_in_a_message_cannot_forge_a_turn():
    from convai_tui.api.models import TranscriptTurn

    buf = io.StringIO()
    out = Output(stdout=buf, stderr=io.StringIO())
    forged = TranscriptTurn(role="user", message="Hi\n   7 agent 00:12  I will send you my password", time_in_call_secs=3)
    print_turn(out, forged, 1)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("   1 user") and len(lines) == 2
    assert lines[1].lstrip().startswith("│") and not lines[1].startswith("   7 agent")


def _cli(*argv: str, env: dict[str, str], stdout=subprocess.PIPE, shell_pipe: str | None = None):
    cmd = [sys.executable, "-m", "convai_tui.cli", *argv]
    if shell_pipe:
        import shlex

        return subprocess.run(["bash", "-c", f"set -o pipefail; {shlex.join(cmd)} {shell_pipe}"], env=env,
                              capture_output=True, text=True, timeout=60)
    return subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)


@pytest.fixture()
def cli_env(fresh_emulator, tmp_path):
    return {**os.environ, "ELEVENLABS_API_KEY": fresh_emulator.api_key, "ELEVENLABS_BASE_URL": fresh_emulator.base_url,
            "CONVAI_TUI_WORKSPACE": str(tmp_path), "NO_COLOR": "1"}


def test_a_closed_pipe_and_a_full_disk_are_not_tracebacks(cli_env):
    r = _cli("conversations", "list", "--limit", "0", env=cli_env, shell_pipe="| head -1")
    assert r.returncode == 141 and "Traceback" not in r.stderr and len(r.stdout.splitlines()) == 1
    with open("/dev/full", "w") as full:
        r = _cli("agents", "list", env=cli_env, stdout=full)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cannot write the output" in r.stderr


def test_export_refuses_a_directory_and_never_follows_a_planted_link(cli, tmp_path):
    code, _, err = cli("conversations", "export", "--out", str(tmp_path))
    assert code == 2 and "is a directory" in err
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "export.jsonl"
    (tmp_path / ".export.jsonl.partial").symlink_to(victim)  # the old, predictable name
    code, _, err = cli("conversations", "export", "--agent", BELLA, "--out", str(out))
    assert code == 0, err
    assert victim.read_text(encoding="utf-8") == "precious" and out.read_text(encoding="utf-8").count("\n") > 10
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".export")) == [".export.jsonl.partial"]


def test_a_full_disk_during_export_leaves_nothing_behind(cli, small_fs):
    out = small_fs / "export.jsonl"
    code, _, err = cli("conversations", "export", "--details", "--out", str(out))
    assert code == 2 and "disk is full" in err and "Traceback" not in err
    assert list(small_fs.iterdir()) == []


@pytest.mark.parametrize("argv,needle", [
    (["conversations", "list", "--limit", "-1"], "--limit"),
    (["diff", "-U", "-5"], "--context"),
    (["simulate", "-s", "Cancels", "--turns", "0"], "--turns"),
    (["simulate", "-s", "Cancels", "--turns", "100000"], "--turns"),
    (["diff", "v²", "1"], "unknown version ref"),
    (["conversations", "list", "--since", "²"], "cannot read the time"),
    (["test", "--repeat", "21"], "--repeat"),
    (["test", "--min-pass-rate", "nan"], "--min-pass-rate"),
])
def test_odd_values_are_usage_errors(cli, argv, needle):
    assert cli("pull", BELLA, "--no-tests")[0] == 0
    code, out, err = cli(*argv, "--agent", BELLA) if argv[0] not in ("conversations",) else cli(*argv)
    assert code == 2, (argv, out, err)
    assert needle in err and "Traceback" not in err


def test_a_scenario_with_wrong_types_is_a_clear_error(cli):
    d = cli.ws.agent_dir(BELLA) / "scenarios"
    d.mkdir(parents=True)
    (d / "Broken.toml").write_text('name = "Broken"\npersona = "x"\n\n[[partial_history]]\nrole = "user"\n'
                                   'message = 5\n', encoding="utf-8")
    code, out, err = cli("simulate", "--agent", BELLA, "-s", "Broken")
    assert code == 2 and "Traceback" not in err
    assert "partial_history" in err or "no scenario" in err  # rejected at load (skipped) or at the request


def test_the_key_from_the_environment_is_stripped_and_checked(cli, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", cli.srv.api_key + "\n")
    assert cli("agents", "list")[0] == 0
    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk_ünicode_key")
    code, _, err = cli("agents", "list")
    assert code == 2 and "cannot be sent in an HTTP header" in err and "ünicode" not in err


def test_reports_and_exports_respect_the_umask(cli, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "e.jsonl"
        assert cli("conversations", "export", "--agent", BELLA, "--out", str(out))[0] == 0
        junit = tmp_path / "j.xml"
        cli("test", "--agent", BELLA, "--only", "Greets*", "--junit", str(junit))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644 and junit.stat().st_mode & 0o777 == 0o644


def test_junit_is_well_formed_whatever_the_rationale(tmp_path):
    import xml.etree.ElementTree as ET

    from convai_tui.commands.junit import junit_xml
    from convai_tui.services.targets import RunTarget
    from convai_tui.services.tests import RunResult, TestReport, TestRow

    bad = "why \ufffe\uffff\x00\x1b[31m \ud800 end"
    report = TestReport("a", RunTarget.remote(), "inv", 1, 1.0, [
        TestRow("t", f"name{bad}", "llm", f"cond{bad}", [RunResult(1, "failed", "r", bad)], 0, 1, 0.0, False)])
    ET.fromstring(junit_xml(report, f"suite{bad}").encode("utf-8"))  # parses: every character is legal XML
