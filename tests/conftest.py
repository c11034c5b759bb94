"""Shared fixtures: a real emulator on a loopback port, and real clients for it."""

from __future__ import annotations

import os

import pytest

from convai_tui.api.client import ConvAIClient
from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig

# Never let a developer's real key or base URL leak into the tests.
os.environ.pop("ELEVENLABS_API_KEY", None)
os.environ.pop("ELEVENLABS_BASE_URL", None)


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory, monkeypatch):
    """Each test gets its own per-user state and cache directories (the TUI remembers the last agent
    and the rows last shown there): no test sees what another left, nor the developer's own."""
    d = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_STATE_HOME", str(d / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(d / "cache"))


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the session: short delays so tests are quick but still async.

    Strict: it answers 422 to any query parameter or body field the published API does not define
    (and 404 to an operation it does not have), so every test that talks to it through the client
    also checks that what the client sends is valid for the real API."""
    cfg = EmulatorConfig(stream_delay_ms=20, test_delay_ms=300, strict=True)
    with EmulatorServer(cfg) as srv:
        yield srv


@pytest.fixture()
def fresh_emulator():
    """A private emulator for tests that change state or inject faults (strict too)."""
    cfg = EmulatorConfig(stream_delay_ms=5, test_delay_ms=200, conversations=300, strict=True)
    with EmulatorServer(cfg) as srv:
        yield srv


@pytest.fixture(scope="session")
def drift_emulator():
    """An emulator that also serves data from a newer API (``drift=True``): unknown enum values and
    fields, a ``supervisor`` turn, a 100,000-character message. For the client's tolerance tests."""
    cfg = EmulatorConfig(stream_delay_ms=5, test_delay_ms=200, conversations=300, drift=True)
    with EmulatorServer(cfg) as srv:
        yield srv


@pytest.fixture(scope="session")
def walked():
    """Every operation of the published API driven against a default-mode emulator (see spec_walk.py):
    (the exchanges, the emulator's state). Shared by the document and SDK conformance tests."""
    from spec_walk import walk

    cfg = EmulatorConfig(conversations=400, stream_delay_ms=0, test_delay_ms=50)
    with EmulatorServer(cfg) as srv:
        yield walk(srv.base_url, srv.api_key), srv.state


@pytest.fixture()
async def client(emulator):
    async with ConvAIClient(emulator.api_key, base_url=emulator.base_url) as c:
        yield c


@pytest.fixture()
def cli(fresh_emulator, tmp_path, monkeypatch, capsys):
    """Run ``convai-tui ARGS`` in-process against a private emulator and a temp workspace."""
    from convai_tui.cli import main
    from convai_tui.workspace.store import Workspace

    monkeypatch.setenv("ELEVENLABS_API_KEY", fresh_emulator.api_key)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--base-url", fresh_emulator.base_url, "--workspace", str(tmp_path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    run.ws = Workspace(tmp_path)
    run.srv = fresh_emulator
    run.tmp = tmp_path
    return run


@pytest.fixture()
def small_fs(tmp_path):
    """A real, tiny tmpfs (needs root, as on the CI machines); skipped where mounting is not allowed."""
    import subprocess

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
