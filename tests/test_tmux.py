"""The real app in a real terminal: ``convai-tui --demo`` in a detached tmux session at 80x24, driven
with the bytes tmux sends for real keys (``send-keys M-3`` is ESC 3, ``-H`` sends raw bytes), read
back with ``capture-pane``. Every wait polls the screen until a deadline (no fixed sleeps).

Skipped, with the reason, where tmux is not installed (CI installs it: see .ci/run)."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install -y tmux)")

_ids = itertools.count()


def _app_command() -> list[str]:
    script = Path(sys.executable).with_name("convai-tui")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from convai_tui.cli import main; main()"]


class Tmux:
    """One tmux server (a private socket) running the app in one 80x24 pane."""

    def __init__(self, tmp: Path, env: dict[str, str] | None = None, size: tuple[int, int] = (80, 24)) -> None:
        self.sock = f"convai-test-{os.getpid()}-{next(_ids)}"
        self.home = tmp / "home"
        self.cwd = tmp / "cwd"  # where the app is started: a demo must write nothing here
        self.tmpdir = tmp / "tmp"  # the app's TMPDIR ($EDITOR's temporary file goes here)
        for d in (self.home, self.cwd, self.tmpdir):
            d.mkdir(parents=True, exist_ok=True)
        self.data = self.home / "data"
        full_env = {"HOME": str(self.home), "XDG_DATA_HOME": str(self.data), "TMPDIR": str(self.tmpdir),
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                    "EDITOR": "", "VISUAL": "", **(env or {})}
        # a clean environment (no developer's key or editor), the terminal type tmux gives its panes;
        # the pane stays when the app ends, so a crash is on screen for the failure message
        cmd = (f'env -i TERM="$TERM" {shlex.join(f"{k}={v}" for k, v in full_env.items())} '
               f"{shlex.join([*_app_command(), '--demo'])}; echo APP-EXITED $?; sleep 60")
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", str(size[0]), "-y", str(size[1]),
                  "-c", str(self.cwd), cmd)

    def tmux(self, *args: str, check: bool = True) -> str:
        r = subprocess.run([TMUX, "-L", self.sock, *args], capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "app", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "app", "-l", text)

    def send_bytes(self, data: bytes) -> None:
        self.tmux("send-keys", "-t", "app", "-H", *[f"{b:02x}" for b in data])

    def wait(self, *texts: str, absent: tuple[str, ...] = (), timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(t in screen for t in texts) and not any(t in screen for t in absent):
                return screen
            if "APP-EXITED" in screen:
                break
            time.sleep(0.05)
        raise AssertionError(f"waited for {texts} (and not {absent}); the screen shows:\n{screen}")

    def close(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture()
def tmux_app(tmp_path):
    apps: list[Tmux] = []

    def start(**kw) -> Tmux:
        app = Tmux(tmp_path / f"app{len(apps)}", **kw)
        apps.append(app)
        app.wait("conversations ·", timeout=30)  # the first page of rows is on screen
        return app

    yield start
    for app in apps:
        app.close()


def test_pane_keys_zoom_help_and_copy_in_tmux(tmux_app):
    t = tmux_app()
    t.tmux("set-option", "-g", "set-clipboard", "on")  # (tmux's default, external, drops what apps copy)
    # the demo says where its workspace is (one per-user directory), and writes nothing where it started
    screen = t.wait("The demo's workspace is")
    assert "data/convai-tui/demo" in screen.replace("\n", "").replace("│", "").replace(" ", "")
    t.send("2")
    t.wait("╭─ Prompt", "First message", "esc Leave field")  # the prompt is in, the editor has focus
    t.send("C-End", "Enter")
    t.type("Typed 1234 here")  # digits type in the editor: they do not switch panes
    t.wait("Typed 1234 here", "● modified")
    t.send("M-3")  # what tmux sends: ESC 3
    t.wait("╭─ Simulation")
    t.send("M-2")
    screen = t.wait("╭─ Prompt", "Typed 1234 here")
    assert "£" not in screen and "™" not in screen
    t.send_bytes(b"\x1b4")  # the raw bytes, as an xterm with metaSendsEscape sends alt+4
    t.wait("╭─ Tests")
    t.send("M-2")
    t.wait("╭─ Prompt")
    t.send("Escape")  # Esc alone (the app waits its escape delay), then a key: the same as alt+key
    t.wait("e $EDITOR")  # the pane's own keys in the footer: focus left the editor
    t.send("c")  # copy the prompt: OSC 52, which tmux (set-clipboard on) keeps as a paste buffer
    deadline = time.monotonic() + 10
    while not t.tmux("show-buffer", check=False) and time.monotonic() < deadline:
        time.sleep(0.05)
    buffer = t.tmux("show-buffer", check=False)
    assert buffer.startswith("You are Acme's customer support agent.") and buffer.endswith("Typed 1234 here")
    t.send("1")
    t.wait("╭─ Conversations")
    t.send("F1")
    t.wait("Keys", "Go to the Simulation pane")
    t.send("Escape")
    t.wait("╭─ Conversations", absent=("Go to the Simulation pane",))
    t.send("z")  # zoom: the pane takes the screen, the tab bar goes
    t.wait(absent=("Simulation  Tests",))
    t.send("z")
    t.wait("Simulation  Tests")
    assert list(t.cwd.iterdir()) == []
    assert (t.data / "convai-tui" / "demo").is_dir()


@pytest.mark.skipif(shutil.which("vi") is None, reason="no vi on this machine")
def test_editor_in_tmux_vi_on_a_private_file(tmux_app, tmp_path):
    """$EDITOR: a script that notes the file's mode, then vi, driven with keys as a user would."""
    editor = tmp_path / "editor"
    editor.write_text(f"#!/bin/sh\nstat -c %a \"$1\" > {tmp_path / 'mode'}\nexec vi \"$1\"\n")
    editor.chmod(0o755)
    t = tmux_app(env={"EDITOR": str(editor)})
    t.send("2")
    t.wait("╭─ Prompt", "First message", "esc Leave field")
    t.send("M-e")  # alt+e while typing: leave the editor, e opens $EDITOR
    t.wait("Be concise.", absent=("First message",))  # vi has the terminal, the app stepped aside
    t.send("G", "o")
    t.type("Written in vi.")
    t.send("Escape")
    t.type(":wq")
    t.send("Enter")
    screen = t.wait("Written in vi.", "● modified", "First message")
    assert "Be concise." in screen
    assert (tmp_path / "mode").read_text().strip() == "600"  # the prompt's temporary file was private
    assert list(t.tmpdir.iterdir()) == []  # and it is gone


SCREEN = shutil.which("screen")


@pytest.mark.skipif(SCREEN is None, reason="GNU screen is not installed (apt-get install -y screen)")
def test_pane_keys_in_gnu_screen(tmp_path):
    """The same keys through GNU screen: ``stuff`` puts bytes into the window as if typed."""
    sockets = tmp_path / "screens"
    sockets.mkdir(mode=0o700)
    (tmp_path / "home").mkdir()
    rc = tmp_path / "screenrc"
    rc.write_text("defutf8 on\nstartup_message off\n")
    env = {"SCREENDIR": str(sockets), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home"),
           "XDG_DATA_HOME": str(tmp_path / "home" / "data"), "LANG": "C.UTF-8", "TERM": "xterm"}
    name = f"convai-{os.getpid()}"
    copy = tmp_path / "hardcopy.txt"

    def screen(*args: str, check: bool = True) -> None:
        subprocess.run([SCREEN, "-S", name, *args], env=env, check=check, timeout=10, capture_output=True)

    def wait(*texts: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            screen("-X", "hardcopy", str(copy), check=False)  # (the session may still be starting)
            shown = copy.read_text(errors="replace") if copy.exists() else ""
            if all(t in shown for t in texts):
                return shown
            time.sleep(0.05)
        raise AssertionError(f"waited for {texts}; GNU screen shows:\n{shown}")

    subprocess.run([SCREEN, "-U", "-c", str(rc), "-dmS", name, *_app_command(), "--demo"], env=env, check=True,
                   timeout=10)
    try:
        wait("scroll for more", timeout=30)  # (the hardcopy is not UTF-8: ASCII words only)
        screen("-X", "stuff", "2")
        wait("First message", "esc Leave field")
        screen("-X", "stuff", "\x1b3")  # alt+3 as screen passes it on: ESC 3
        wait("Simulation ", "r Run")
        screen("-X", "stuff", "\x1b")  # Esc, then (separately) 4
        screen("-X", "stuff", "4")
        wait("+ Repeat")
        screen("-X", "stuff", "\x1bOP")  # F1
        wait("Go to the Simulation pane")
    finally:
        subprocess.run([SCREEN, "-S", name, "-X", "quit"], env=env, timeout=10, capture_output=True)
