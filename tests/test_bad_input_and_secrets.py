"""Bad input gets a clear, specific error and loses nothing; files survive SIGKILL; the key never leaks."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from convai_tui.cli import main
from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig
from convai_tui.services.session import Session, Settings
from convai_tui.tui.app import ConvaiApp
from convai_tui.tui.conversations.transcript import TranscriptScreen
from convai_tui.workspace import files as F
from convai_tui.workspace.store import Workspace
from convai_tui.workspace.versions import PromptDraft

from tui_helpers import make_app, ready, save_version, wait_for

BELLA = "agent_dental_bella"
SECRET = "sk_9f3c2a7e51b84d06a9c1e2f3d4b5a6c7"  # looks real; must never appear anywhere


# ---------------------------------------------------------------------------- bad input
def test_a_1mb_prompt_round_trips(tmp_path):
    big = ("Line of a very long prompt with ăîșț and \"quotes\" and \\backslashes\\.\n" * 15000)[:1_000_000]
    ws = Workspace(tmp_path)
    v = ws.save(BELLA, PromptDraft(big, "Hi", "gpt-4o", 0.5))
    back = Workspace(tmp_path).get(BELLA, v.number)
    assert back.draft.prompt == big
    path = ws.agent_dir(BELLA) / "prompts" / "v0001.toml"
    raw = path.read_bytes()
    assert F.dump_toml(F.parse_toml(path, raw)) == raw


async def test_a_1mb_prompt_in_the_editor(tmp_path):
    big = "Be helpful. " * 90_000  # ~1 MB
    app = make_app(workspace_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, BELLA)
        app.prompt_pane.query_one("#prompt-text").load_text(big)
        await pilot.press("alt+2")
        await save_version(pilot)
        await wait_for(pilot, lambda: len(Workspace(tmp_path).list(BELLA)) == 2, what="saved")
    assert Workspace(tmp_path).list(BELLA)[-1].draft.prompt == big


async def test_unknown_enum_values_extra_fields_and_a_100k_message_are_shown(tmp_path):
    app = make_app(workspace_dir=str(tmp_path), drift=True)  # the emulator serves the "future" call
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot, BELLA)
        table = app.conversations_pane.table
        i = table.index["conv_unknown_values"]
        row = " ".join(c.plain for c in table.cells_at(i))
        assert "escalated" in row  # an unknown status is shown (truncated to the column), not fatal
        app.open_transcript("conv_unknown_values")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.conv
                                and app.screen, what="transcript")
        view = screen.query_one("#tr-turns")
        assert len(view.turns[1].message) == 100_000
        # rendered for its width once laid out (before the first layout pass the view has no width yet)
        await wait_for(pilot, lambda: view.size.width > 0 and "teleport" in view.plain(2), what="laid-out turns")
        assert "supervisor" in view.plain(2)
        # the 100k-character message wraps into many lines and the view still scrolls
        assert view.virtual_size.height > 500
        await pilot.press("end")
        assert view.highlighted == len(view.turns) - 1
        assert screen.conv.extra_fields["conversation_product"] == "hologram"


def test_cli_shows_unknown_values_too(drift_emulator, monkeypatch, capsys, tmp_path):
    emulator = drift_emulator
    monkeypatch.setenv("ELEVENLABS_API_KEY", emulator.api_key)
    code = main(["conversations", "show", "conv_unknown_values", "--base-url", emulator.base_url,
                 "--workspace", str(tmp_path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "escalated-to-human" and out["conversation_product"] == "hologram"
    assert out["transcript"][2]["emotion"] == "calm"  # unknown fields preserved end to end


@pytest.mark.parametrize("argv,message", [
    (["versions"], "which agent?"),
    (["diff", "--agent", BELLA], "never pulled"),
    (["push", "--agent", BELLA], "no saved versions"),
    (["simulate", "--agent", BELLA, "-s", "../../etc/passwd"], "no scenario"),
])
def test_an_empty_workspace_gives_specific_errors(argv, message, tmp_path, monkeypatch, capsys, emulator):
    monkeypatch.setenv("ELEVENLABS_API_KEY", emulator.api_key)
    code = main([*argv, "--workspace", str(tmp_path), "--base-url", emulator.base_url])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_wrongly_typed_test_file_is_reported_and_kept(tmp_path):
    ws = Workspace(tmp_path)
    d = ws.agent_dir(BELLA) / "tests"
    d.mkdir(parents=True)
    bad = d / "broken.toml"
    bad.write_text('name = "x"\ntype = "llm"\nchat_history = "not a list"\n', encoding="utf-8")
    before = bad.read_bytes()
    assert ws.tests(BELLA) == []
    assert ws.problems[0].startswith(f"{bad}:3:1: chat_history:")
    assert bad.read_bytes() == before


async def test_read_only_workspace_in_the_tui_is_reported_not_fatal(small_fs):
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    app = make_app(workspace_dir=str(small_fs))
    shown = []
    real = app.notify
    app.notify = lambda m, **kw: (shown.append(m), real(m, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, BELLA)
        await pilot.press("alt+2", "ctrl+end", *"x")
        await save_version(pilot)
        await wait_for(pilot, lambda: any("read-only" in m for m in shown), what="read-only notice")
        assert app._exception is None
        assert app.prompt_pane.dirty  # the edit is still in the editor: nothing lost


# ---------------------------------------------------------------------------- durability
def test_sigkill_during_a_save_loop_leaves_old_or_new_files(tmp_path):
    """Kill a process that saves in a tight loop at random moments: every file is always a
    complete old or new version, and parses."""
    script = textwrap.dedent(f'''
        import itertools
        from convai_tui.workspace.store import Workspace
        from convai_tui.workspace.versions import PromptDraft
        ws = Workspace({str(tmp_path)!r})
        ws.init(default_agent="a")
        for i in itertools.count():
            body = ("rule %d\\n" % i) * (1 + i % 400)
            ws.save_draft("a", PromptDraft(body, first_message=str(i)))
            if i % 7 == 0:
                ws.save("a", PromptDraft(body, first_message=str(i)))
    ''')
    rnd = random.Random(11)
    draft_file = Workspace(tmp_path).draft_path("a")
    for round_ in range(12):
        before = draft_file.stat().st_mtime_ns if draft_file.exists() else None
        p = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 60  # the kill lands in the save loop, not during start-up
        while (not draft_file.exists() or draft_file.stat().st_mtime_ns == before) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05 + rnd.random() * 0.35)
        p.send_signal(signal.SIGKILL)
        p.wait()
        ws = Workspace(tmp_path)
        draft = ws.load_draft("a")
        assert draft is not None and not ws.problems, (round_, ws.problems)
        d, _ = draft
        n = int(d.first_message)
        assert d.prompt == ("rule %d\n" % n) * (1 + n % 400)  # complete, never torn
        for v in ws.list("a"):
            n = int(v.draft.first_message)
            assert v.draft.prompt == ("rule %d\n" % n) * (1 + n % 400)
        assert not ws.problems


# ---------------------------------------------------------------------------- secrets
@pytest.fixture()
def secret_emulator():
    with EmulatorServer(EmulatorConfig(api_key=SECRET, stream_delay_ms=0, test_delay_ms=100,
                                       conversations=200)) as srv:
        yield srv


def assert_no_secret(*blobs: str | bytes, where: str = "") -> None:
    for b in blobs:
        text = b.decode("utf-8", "replace") if isinstance(b, bytes) else b
        assert SECRET not in text, f"the API key leaked into {where}"
        assert SECRET[3:-3] not in text, f"part of the API key leaked into {where}"


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_key_never_reaches_files_output_or_errors(secret_emulator, tmp_path):
    env = {**os.environ, "ELEVENLABS_API_KEY": SECRET, "NO_COLOR": "1"}
    env.pop("ELEVENLABS_BASE_URL", None)
    base = ["--base-url", secret_emulator.base_url, "--workspace", str(tmp_path)]
    outputs = []
    for argv in (["pull", BELLA], ["versions"], ["diff"], ["test", "--repeat", "1", "--json",
                                                           "--junit", str(tmp_path / "j.xml")],
                 ["simulate", "-s", "Cancels", "--json"], ["conversations", "list", "--json", "--limit", "5"],
                 ["conversations", "export", "--out", str(tmp_path / "x.jsonl")], ["agents", "list"],
                 ["push", "--force"], ["branches", "list", "--json"]):
        r = subprocess.run([sys.executable, "-m", "convai_tui.cli", *argv, *base], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode in (0, 1), (argv, r.stderr)
        outputs += [r.stdout, r.stderr]
    # a wrong key, a dead server and a key file: the errors never echo the key
    wrong = {**env, "ELEVENLABS_API_KEY": SECRET[::-1]}
    r = subprocess.run([sys.executable, "-m", "convai_tui.cli", "agents", "list", *base], env=wrong,
                       capture_output=True, text=True)
    assert r.returncode == 4 and SECRET[::-1] not in r.stderr + r.stdout
    r = subprocess.run([sys.executable, "-m", "convai_tui.cli", "agents", "list", "--base-url", "http://127.0.0.1:9",
                        "--workspace", str(tmp_path)], env=env, capture_output=True, text=True)
    assert r.returncode == 4
    outputs += [r.stdout, r.stderr]
    key_file = tmp_path.parent / "key.txt"
    key_file.write_text(SECRET + "\n")
    env_nokey = {k: v for k, v in env.items() if k != "ELEVENLABS_API_KEY"}
    r = subprocess.run([sys.executable, "-m", "convai_tui.cli", "agents", "list", "--api-key-file", str(key_file),
                        *base], env=env_nokey, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    outputs += [r.stdout, r.stderr]
    assert_no_secret(*outputs, where="CLI output")
    written = files_under(tmp_path)
    assert any(p.name == "convai.toml" for p in written)
    for p in written:
        assert_no_secret(p.read_bytes(), where=str(p))


async def test_the_key_is_masked_in_the_tui_and_absent_from_screenshots(secret_emulator, tmp_path):
    app = ConvaiApp(Session(Settings.of(api_key=SECRET, base_url=secret_emulator.base_url, workspace=tmp_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot, BELLA)
        await pilot.press("alt+2", "ctrl+end", *"!")
        await save_version(pilot, "with the key around")
        conn = str(app.main.query_one("#conn").render())
        assert f"key {SECRET[:3]}…{SECRET[-2:]}" in conn
        svg = app.export_screenshot()
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        svg2 = app.export_screenshot()
    assert_no_secret(svg, svg2, where="screenshots")
    for p in files_under(tmp_path):
        assert_no_secret(p.read_bytes(), where=str(p))


async def test_a_crash_report_has_no_locals_and_no_key(secret_emulator, tmp_path):
    app = ConvaiApp(Session(Settings.of(api_key=SECRET, base_url=secret_emulator.base_url, workspace=tmp_path)))
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot, BELLA)
            key_holder = {"xi-api-key": SECRET}  # a local that a locals-dump would print  # noqa: F841

            def explode() -> None:
                raise RuntimeError(f"boom with {SECRET} inside")

            app.call_later(explode)
            await pilot.pause(0.5)
    report = app.crash_report
    assert "boom" in report and "***" in report
    assert_no_secret(report, where="the crash report")


def test_emulator_refuses_non_loopback_without_flag(capsys):
    assert main(["serve-emulator", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_serve_emulator_stops_cleanly_on_ctrl_c():
    from convai_tui.emulator.server import free_port

    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "convai_tui.cli", "serve-emulator", "--port", str(port),
                          "--conversations", "50"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=15)
    assert p.returncode == 0
    assert f"http://127.0.0.1:{port}" in out and "convai-demo-key" in out and "emulator stopped" in out
