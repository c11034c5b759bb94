"""The prompt you see is the prompt that runs: explicit targets, push goes where the pull came from, the
draft never falls back, one configuration rule for CLI and TUI, dangling tests, one agent resolver.

Each test here reproduces a defect of the first round (see the issue "one service layer for CLI and TUI,
explicit run targets"); most drive the real command line against a real emulator."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import httpx
import pytest

from convai_tui.services.errors import ConfigError
from convai_tui.services.session import ConfigFlags, Session, Settings, is_elevenlabs_host, resolve_settings
from convai_tui.workspace.store import Workspace
from convai_tui.workspace.versions import PromptDraft

from tui_helpers import app_for, log_text, make_app, ready, status, wait_for

BELLA = "agent_dental_bella"
CONFIRM = "\nAlways confirm the booking time."


def remote_prompt(srv, branch: str | None = None) -> str:
    r = httpx.get(f"{srv.base_url}/v1/convai/agents/{BELLA}", params={"branch_id": branch} if branch else None,
                  headers={"xi-api-key": srv.api_key})
    return r.json()["conversation_config"]["agent"]["prompt"]["prompt"]


# ---------------------------------------------------------------------------- 1. the road follows the target
async def test_a_draft_after_a_remote_simulation_is_not_run_on_the_stream(tmp_path):
    """After a remote simulation took the stream, a draft (and the B lane of an A/B) still runs as a
    simulation test with the draft as override: it used to run the remote prompt over the stream
    while the pane said "against Local draft"."""
    app = make_app(workspace_dir=tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot, BELLA)
        sim = app.simulation_pane
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: sim.lanes["a"].finished, what="remote simulation")
        assert sim.lanes["a"].road == "stream"
        state = app.session.emulator.state
        before = set(state.invocations)
        await pilot.press("2", "ctrl+end", "enter", *CONFIRM.strip())
        sim.query_one("#sim-target").value = "draft"
        await pilot.press("alt+3", "r")
        await wait_for(pilot, lambda: sim.lanes["a"].finished, timeout=20, what="draft simulation")
        lane = sim.lanes["a"]
        assert lane.road == "simulation test" and lane.target.kind == "draft"
        new = [state.invocations[i] for i in set(state.invocations) - before]
        assert len(new) == 1 and _override_prompt(new[0]).endswith(CONFIRM.strip())
        text = log_text(app)
        assert f"draft · {lane.target.content_hash}" in text and "simulation test" in text
        # the B lane of an A/B, after the stream was used again
        await pilot.press("b")
        await wait_for(pilot, lambda: app.screen.query_one("#ab-run").region.width, what="A/B dialog")
        app.screen.query_one("#ab-a").value = "remote"
        app.screen.query_one("#ab-b").value = "draft"
        await pilot.click("#ab-run")
        await wait_for(pilot, lambda: sim.lanes.get("b") and sim.lanes["b"].finished and sim.lanes["a"].finished,
                       timeout=20, what="A/B")
        assert sim.lanes["a"].road == "stream" and sim.lanes["b"].road == "simulation test"


def _override_prompt(inv) -> str:
    """The prompt an emulator invocation ran with, when it ran with an override."""
    cc = (inv.target.override or {}).get("conversation_config") or {}
    return ((cc.get("agent") or {}).get("prompt") or {}).get("prompt", "")


async def test_the_road_memo_never_overrides_a_target():
    from convai_tui.api.client import ConvAIClient
    from convai_tui.api.models import AgentConfigOverride
    from convai_tui.api.simulations import run_simulation
    from convai_tui.emulator.server import EmulatorServer
    from convai_tui.emulator.state import EmulatorConfig
    from convai_tui.services.simulations import SimulationsService
    from convai_tui.workspace.scenarios import builtin_scenarios

    req = SimulationsService.request_for(builtin_scenarios()[0], turns=6)
    with EmulatorServer(EmulatorConfig(stream_delay_ms=0, test_delay_ms=50, conversations=10)) as srv:
        async with ConvAIClient(srv.api_key, base_url=srv.base_url) as c:
            first = [u async for u in run_simulation(c, BELLA, req)]
            assert first[0].road == "stream"
            override = AgentConfigOverride.model_validate({"conversation_config": {"agent": {"prompt": {
                "prompt": "Always confirm the booking time."}}}})
            for kw in ({"agent_config_override": override}, {"branch_id": "agtbrch_bella_confirm"}):
                ups = [u async for u in run_simulation(c, BELLA, req, **kw)]
                assert ups[0].road == "test" and ups[-1].road == "test", kw


# ---------------------------------------------------------------------------- 2. push goes where the pull came from
def test_push_after_pulling_a_branch_goes_to_that_branch(cli):
    assert cli("pull", BELLA, "--branch", "confirm-times")[0] == 0
    main_before = remote_prompt(cli.srv)
    base = cli.ws.list(BELLA)[-1].draft
    cli.ws.save(BELLA, PromptDraft(base.prompt + "\nNot for production.", base.first_message, base.llm,
                                   base.temperature))
    code, out, err = cli("push", "-m", "experiment")
    assert code == 0, err
    assert "branch confirm-times" in out
    assert remote_prompt(cli.srv, "agtbrch_bella_confirm").endswith("Not for production.")
    assert remote_prompt(cli.srv) == main_before, "the push reached main"
    code, out, _ = cli("push", "--json")  # nothing new: still the branch
    assert json.loads(out)["branch"] == "confirm-times"


# ---------------------------------------------------------------------------- 3. the draft, exactly
def test_a_hand_written_draft_is_used_and_a_bad_one_is_an_error(cli):
    assert cli("pull", BELLA)[0] == 0
    draft = cli.ws.draft_path(BELLA)
    prompt = cli.ws.list(BELLA)[-1].draft.prompt + CONFIRM
    draft.write_text(f'prompt = """{prompt}"""\n', encoding="utf-8")  # just a prompt, as the README invites
    code, out, err = cli("test", "--only", "Confirms*", "--draft", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["target"]["kind"] == "draft" and res["road"] == "run-tests (agent_config_override)"
    assert res["tests"][0]["pass_rate"] == 1.0  # the draft's prompt ran, not v1's
    code, out, err = cli("push", "--draft", "-m", "confirm times")
    assert code == 0, err
    assert out.startswith("pushed draft · ") and "kept as v2" in out
    assert remote_prompt(cli.srv).endswith(CONFIRM.strip())
    v2 = cli.ws.list(BELLA)[-1]
    assert v2.number == 2 and v2.message == "confirm times" and v2.draft.prompt == prompt
    # a draft the workspace rejects is an error naming the file: never v1 in its place
    draft.write_text('prompt = "x"\ntemperature = "hot"\n', encoding="utf-8")
    for argv in (["test", "--draft"], ["push", "--draft"], ["simulate", "-s", "Cancels", "--draft"]):
        code, out, err = cli(*argv)
        assert code == 2, (argv, out, err)
        assert str(draft) in err and "temperature" in err and "pushed" not in out
    draft.unlink()
    code, _, err = cli("test", "--draft")
    assert code == 2 and "no draft" in err and str(draft) in err


# ---------------------------------------------------------------------------- 4. configuration: one rule
class _KeyTrap(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _KeyTrap.seen.append(self.headers.get("xi-api-key", ""))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *a) -> None:
        pass


@pytest.fixture()
def key_trap():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeyTrap)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _KeyTrap.seen = []
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_a_workspace_cannot_send_the_key_to_its_own_server(tmp_path, monkeypatch, capsys, key_trap, emulator):
    from convai_tui.cli import main

    (tmp_path / "convai.toml").write_text(f'base_url = "{key_trap}"\n', encoding="utf-8")
    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk_real_key_of_the_user_123456")
    monkeypatch.delenv("ELEVENLABS_BASE_URL", raising=False)
    code = main(["agents", "list", "--workspace", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "not an ElevenLabs host" in err and "--trust-workspace-url" in err
    assert _KeyTrap.seen == [], "the key reached the workspace's server"
    # the environment beats the workspace file (and the effective server is said on stderr)
    monkeypatch.setenv("ELEVENLABS_API_KEY", emulator.api_key)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", emulator.base_url)
    code = main(["agents", "list", "--workspace", str(tmp_path), "--json"])
    out = capsys.readouterr()
    assert code == 0 and f"server: {emulator.base_url} (ELEVENLABS_BASE_URL)" in out.err
    assert _KeyTrap.seen == []
    # confirmed by the user: then it is used
    monkeypatch.delenv("ELEVENLABS_BASE_URL")
    code = main(["agents", "list", "--workspace", str(tmp_path), "--trust-workspace-url"])
    assert code == 4 and len(_KeyTrap.seen) >= 1


def test_precedence_flag_environment_workspace_default(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "convai.toml").write_text('base_url = "https://api.eu.residency.elevenlabs.io"\n'
                                    'default_agent = "agent_from_file"\n', encoding="utf-8")
    env = {"ELEVENLABS_API_KEY": " sk_from_env \n"}
    s = resolve_settings(ConfigFlags(workspace=str(ws)), env)
    assert (s.base_url, s.base_url_source) == ("https://api.eu.residency.elevenlabs.io", "convai.toml")
    assert s.api_key == "sk_from_env" and s.agent == "agent_from_file"  # a trailing newline is stripped
    env["ELEVENLABS_BASE_URL"] = "https://api.us.elevenlabs.io"
    env["CONVAI_TUI_AGENT"] = "agent_from_env"
    s = resolve_settings(ConfigFlags(workspace=str(ws)), env)
    assert s.base_url_source == "ELEVENLABS_BASE_URL" and s.agent == "agent_from_env"
    s = resolve_settings(ConfigFlags(workspace=str(ws), base_url="http://127.0.0.1:9", agent="agent_flag"), env)
    assert (s.base_url, s.base_url_source, s.agent) == ("http://127.0.0.1:9", "--base-url", "agent_flag")
    s = resolve_settings(ConfigFlags(workspace=str(tmp_path)), {})
    assert (s.base_url, s.base_url_source, s.api_key) == ("https://api.elevenlabs.io", "default", None)
    with pytest.raises(ConfigError, match="HTTP header"):
        resolve_settings(ConfigFlags(workspace=str(tmp_path)), {"ELEVENLABS_API_KEY": "sk_ünicode"})
    assert is_elevenlabs_host("https://api.elevenlabs.io") and not is_elevenlabs_host("https://elevenlabs.io.evil.com")
    assert not is_elevenlabs_host("http://api.elevenlabs.io") and not is_elevenlabs_host("https://evilelevenlabs.io")


async def test_the_tui_uses_the_same_settings_and_shows_the_real_server(tmp_path, emulator):
    """The TUI reads the same configuration (workspace file, default agent) and its header names the
    server it really talks to: it used to say api.elevenlabs.io while talking to ELEVENLABS_BASE_URL."""
    from convai_tui.tui.app import ConvaiApp

    (tmp_path / "convai.toml").write_text(f'base_url = "{emulator.base_url}"\ndefault_agent = "agent_sanitas_ro"\n',
                                          encoding="utf-8")
    env = {"ELEVENLABS_API_KEY": emulator.api_key}
    with pytest.raises(ConfigError):
        resolve_settings(ConfigFlags(workspace=str(tmp_path)), env)
    settings = resolve_settings(ConfigFlags(workspace=str(tmp_path), trust_workspace_url=True), env)
    app = ConvaiApp(Session(settings))
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for(pilot, lambda: app.agent is not None, what="an agent")
        assert app.agent.agent_id == "agent_sanitas_ro"  # default_agent, as the CLI uses it
        header = status(app, "#conn")
        assert emulator.base_url in header and "convai.toml" in header and "api.elevenlabs.io" not in header


# ---------------------------------------------------------------------------- 5. dangling tests
def test_a_deleted_test_still_attached_is_skipped_not_fatal(cli):
    httpx.delete(f"{cli.srv.base_url}/v1/convai/agent-testing/test_bella_no_prices",
                 headers={"xi-api-key": cli.srv.api_key}).raise_for_status()
    assert "test_bella_no_prices" in [t["test_id"] for t in
                                      cli.srv.state.agents[BELLA].platform_settings["testing"]["attached_tests"]]
    for argv in (["--only", "Greets*"], []):
        code, out, err = cli("test", "--agent", BELLA, "--json", *argv)
        assert code in (0, 1), err
        assert "skipped test test_bella_no_prices" in err
        res = json.loads(out)
        assert res["missing_tests"] and "test_bella_no_prices" not in [t["id"] for t in res["tests"]]


# ---------------------------------------------------------------------------- 6. one agent resolver
def test_every_command_resolves_the_agent_the_same_way(cli):
    assert cli("pull", "agent_sanitas_ro", "--no-tests")[0] == 0
    (cli.tmp / "convai.toml").unlink()  # no default_agent: the only agent pulled is the one
    code, out, err = cli("versions", "--json")
    assert code == 0, err
    code, out, err = cli("conversations", "list", "--json", "--limit", "30")
    assert code == 0 and {r["agent_id"] for r in json.loads(out)} == {"agent_sanitas_ro"}
    code, out, err = cli("test", "--only", "*română*", "--json")
    assert code in (0, 1) and json.loads(out)["agent_id"] == "agent_sanitas_ro"


def test_settings_repr_never_shows_the_key():
    s = Settings.of(api_key="sk_0123456789abcdef0123", workspace=Path("/tmp"))
    assert "0123456789abcdef" not in repr(s) and "sk_…23" in repr(s)


async def test_closing_the_app_during_a_simulation_raises_nothing(tmp_path):
    """Quitting while a lane streams (and just after it finished, before its stream closed) cancels the
    lane's worker: its clean-up used to look for the A/B comparison box the closing screen no longer
    had (NoMatches from a worker, a traceback at exit). The cut run is still recorded."""
    app = make_app(workspace_dir=tmp_path, stream_delay_ms=400)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, BELLA)
        sim = app.simulation_pane
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: sim.lanes.get("a") and sim.lanes["a"].turns + len(sim.lanes["a"].pending) >= 1,
                       what="the first turn")
    # leaving the context manager closed the app: a worker exception would have been raised there
    runs = app.session.runs.list(BELLA)
    assert any(r.header.kind == "simulation" for r in runs), runs
