"""Start-up policies outside the TUI: the collector thresholds around the CLI, and httpx
imported without its command-line client."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from convai_tui import startup
from convai_tui.cli import main


@pytest.fixture()
def default_threshold():
    before = gc.get_threshold()
    yield before
    startup.end(freeze=False)
    gc.set_threshold(*before)


def test_begin_and_end_are_idempotent(default_threshold):
    startup.begin()
    startup.begin()
    assert startup.active() and gc.get_threshold() == startup.STARTUP_THRESHOLD
    startup.end(freeze=False)
    startup.end(freeze=False)
    assert not startup.active() and gc.get_threshold() == default_threshold


def test_a_headless_command_runs_with_the_usual_collector(default_threshold, tmp_path, monkeypatch, capsys):
    seen = []
    import convai_tui.commands.prompts as wc

    real = wc.cmd_versions

    def spy(args):
        seen.append(gc.get_threshold())
        return real(args)

    monkeypatch.setattr(wc, "cmd_versions", spy)
    code = main(["versions", "--agent", "agent_x", "--workspace", str(tmp_path)])
    capsys.readouterr()
    assert seen == [default_threshold], "the command ran with the start-up thresholds"
    assert code in (0, 2) and gc.get_threshold() == default_threshold


def test_a_usage_error_restores_the_collector(default_threshold, capsys):
    assert main(["--no-such-option"]) == 2
    assert gc.get_threshold() == default_threshold and not startup.active()
    # the TUI path refusing its options before any app starts
    assert main(["--demo", "--demo-conversations", "999999"]) == 2
    capsys.readouterr()
    assert gc.get_threshold() == default_threshold and not startup.active()


def test_httpx_is_imported_without_its_command_line_client():
    code = """
import sys
import convai_tui.api.client
import httpx
heavy = [m for m in ("click", "pygments.lexers", "rich.syntax", "rich.progress", "httpx._main") if m in sys.modules]
assert not heavy, heavy
assert "httpx._main" not in sys.modules  # the mark is lifted: an explicit import still works
import httpx._main
print("ok", httpx.__version__)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok ")
