"""The per-user state (the last agent opened per server) and display cache (the rows last shown):
where they live, what they hold, the precedence of the remembered agent, and that a bad file is
ignored."""

from __future__ import annotations

import json
import os
import stat

from convai_tui.services import userstate as U
from convai_tui.services.session import ConfigFlags, Session, resolve_settings

KEY = "sk_0123456789abcdef0123456789abcdef"
BASE = "https://api.elevenlabs.io"


def _env(tmp_path, **more):
    return {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HOME": str(tmp_path / "home"), "ELEVENLABS_API_KEY": KEY, **more}


def test_directories_follow_xdg_and_fall_back_to_home(tmp_path):
    env = _env(tmp_path)
    assert U.state_dir(env) == tmp_path / "state" / "convai-tui"
    assert U.cache_dir(env) == tmp_path / "cache" / "convai-tui"
    bare = {"HOME": str(tmp_path / "home"), "XDG_STATE_HOME": "relative/is/ignored"}
    assert U.state_dir(bare) == tmp_path / "home" / ".local" / "state" / "convai-tui"
    assert U.cache_dir(bare) == tmp_path / "home" / ".cache" / "convai-tui"


def test_server_key_never_holds_credentials_or_a_query():
    assert U.server_key("https://user:secret@API.ElevenLabs.io:443/v1/?key=x#f") == "https://api.elevenlabs.io:443/v1"
    assert U.server_key("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"
    assert U.server_key("", demo=True) == "demo"
    assert U.server_key("", demo=True, demo_options={"conversations": 5}) == 'demo {"conversations": 5}'


def test_last_agent_is_kept_per_server_privately_and_without_the_key(tmp_path):
    env = _env(tmp_path)
    assert U.read_last_agent("http://a", env) is None
    assert U.remember_agent("http://a", "agent_one", env)
    assert U.remember_agent("http://b", "agent_two", env)
    assert U.read_last_agent("http://a", env) == "agent_one"
    assert U.read_last_agent("http://b", env) == "agent_two"
    path = U.state_dir(env) / U.STATE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert KEY not in path.read_text()
    assert not [p for p in path.parent.iterdir() if p.name != U.STATE_FILE]  # no temporary files left
    U.forget_agent("http://a", "agent_one", env)
    assert U.read_last_agent("http://a", env) is None and U.read_last_agent("http://b", env) == "agent_two"


def test_a_corrupt_or_hostile_state_file_is_ignored_and_replaced(tmp_path):
    env = _env(tmp_path)
    path = U.state_dir(env) / U.STATE_FILE
    path.parent.mkdir(parents=True)
    for content in (b"\xff\xfe not json", b"[]", b'{"convai_tui_state": 1, "servers": []}',
                    json.dumps({"convai_tui_state": 1, "servers": {"http://a": {"agent": "x\x1b[2J"}}}).encode(),
                    json.dumps({"convai_tui_state": 1, "servers": {"http://a": {"agent": 5}}}).encode(),
                    b"[" * 100_000, b" " * (U.MAX_STATE_BYTES + 1)):
        path.write_bytes(content)
        assert U.read_last_agent("http://a", env) is None
        assert U.remember_agent("http://a", "agent_ok", env)  # and it can be written over
        assert U.read_last_agent("http://a", env) == "agent_ok"
    path.unlink()
    os.mkfifo(path)  # never opened in a way that blocks
    assert U.read_last_agent("http://a", env) is None


def test_remembered_agent_precedence(tmp_path):
    """flag > environment > default_agent > the only agent pulled > (the TUI) the last agent used."""
    env = _env(tmp_path)
    ws = tmp_path / "ws"
    ws.mkdir()
    flags = ConfigFlags(base_url=BASE, workspace=str(ws))
    assert resolve_settings(flags, env).last_agent is None
    U.remember_agent(U.server_key(BASE), "agent_last", env)
    U.remember_agent(U.server_key("https://eu.residency.elevenlabs.io"), "agent_eu", env)
    s = resolve_settings(flags, env)
    assert s.last_agent == "agent_last" and s.agent is None
    session = Session(s)
    assert session.agent_id_or_none(remembered=True) == "agent_last"
    assert session.startup_agent() == "agent_last"
    assert session.agent_id_or_none() is None  # headless commands: "every agent", never the remembered one
    # another server, another memory
    eu = resolve_settings(ConfigFlags(base_url="https://eu.residency.elevenlabs.io", workspace=str(ws)), env)
    assert Session(eu).agent_id_or_none(remembered=True) == "agent_eu"
    # the only agent pulled into the workspace comes first
    (ws / "agents" / "agent_pulled").mkdir(parents=True)
    (ws / "agents" / "agent_pulled" / "agent.toml").write_text('agent_id = "agent_pulled"\nname = "P"\n')
    session = Session(resolve_settings(flags, env))
    assert session.agent_id_or_none(remembered=True) == "agent_pulled" == session.startup_agent()
    # two pulled: no "only" agent, the remembered one again
    (ws / "agents" / "agent_other").mkdir()
    (ws / "agents" / "agent_other" / "agent.toml").write_text('agent_id = "agent_other"\n')
    session = Session(resolve_settings(flags, env))
    assert session.agent_id_or_none(remembered=True) == "agent_last" == session.startup_agent()
    # default_agent, the environment, the flag
    (ws / "convai.toml").write_text('default_agent = "agent_default"\n')
    assert Session(resolve_settings(flags, env)).agent_id_or_none(remembered=True) == "agent_default"
    env2 = {**env, "CONVAI_TUI_AGENT": "agent_env"}
    assert Session(resolve_settings(flags, env2)).agent_id_or_none(remembered=True) == "agent_env"
    s = resolve_settings(ConfigFlags(base_url=BASE, workspace=str(ws), agent="agent_flag"), env2)
    assert Session(s).agent_id_or_none(remembered=True) == "agent_flag" == Session(s).startup_agent()
    assert KEY not in repr(s)


def _rows(n, start=1_700_000_000):
    return [U.CachedRow(f"conv_{i:04d}", start - i * 60, 30 + i, "success" if i % 3 else "failure", "done",
                        f"Title {i} [bold]\x1b[2J", "en", (i % 5) + 1 if i % 2 else None,
                        "like" if i == 1 else None) for i in range(n)]


def test_display_cache_round_trip_bounded_and_private(tmp_path):
    env = _env(tmp_path)
    assert U.read_rows("http://a", "agent", "f", env) is None
    assert U.write_rows("http://a", "agent", "f", _rows(150), env)
    rows, saved = U.read_rows("http://a", "agent", "f", env)
    assert len(rows) == U.MAX_CACHED_ROWS
    assert [r.to_list() for r in rows] == [r.to_list() for r in _rows(U.MAX_CACHED_ROWS)]
    assert rows[1].extra_fields == {"feedback": "like"} and saved > 0
    # each (server, agent, filters) its own entry
    assert U.read_rows("http://b", "agent", "f", env) is None
    assert U.read_rows("http://a", "agent", "g", env) is None
    assert U.read_rows("http://a", "other", "f", env) is None
    files = list((U.cache_dir(env) / "rows").iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert "http://a" not in files[0].read_text()  # named and keyed by a hash


def test_a_bad_display_cache_is_ignored(tmp_path):
    env = _env(tmp_path)
    U.write_rows("http://a", "agent", "f", _rows(3), env)
    path = next((U.cache_dir(env) / "rows").iterdir())
    good = json.loads(path.read_text())
    bad_rows = [[1, 2, 3], ["conv", "not an int", 1, None, None, None, None, None, None],
                ["conv", 1, 1, None, None, "x" * 1000, None, None, None],
                ["conv", 1, 1, None, None, None, None, 99, None], ["conv", 1, 1, None, None, None, None, None, "meh"]]
    for rows in bad_rows:
        path.write_text(json.dumps({**good, "rows": [rows]}))
        assert U.read_rows("http://a", "agent", "f", env) is None, rows
    path.write_text(json.dumps({**good, "rows": good["rows"] + good["rows"][:1]}))  # a duplicate id
    assert U.read_rows("http://a", "agent", "f", env) is None
    path.write_text(json.dumps({**good, "key": "someone else's"}))
    assert U.read_rows("http://a", "agent", "f", env) is None
    path.write_bytes(b"{" + b" " * U.MAX_CACHE_BYTES)
    assert U.read_rows("http://a", "agent", "f", env) is None


def test_the_cache_keeps_a_bounded_number_of_lists(tmp_path):
    env = _env(tmp_path)
    for i in range(U.MAX_CACHE_FILES + 5):
        assert U.write_rows("http://a", f"agent_{i}", "f", _rows(2), env)
    assert len(list((U.cache_dir(env) / "rows").iterdir())) == U.MAX_CACHE_FILES


def test_headless_commands_never_use_the_remembered_agent(cli):
    """The TUI remembered an agent on this server; a script's commands act as if it had not."""
    import json as _json

    U.remember_agent(U.server_key(cli.srv.base_url), "agent_acme_support")
    code, out, _ = cli("conversations", "export", "--concurrency", "1")
    agents = {_json.loads(line)["agent_id"] for line in out.splitlines()}
    assert code == 0 and len(agents) > 1  # every agent's calls, not the remembered agent's
    code, _, err = cli("test")
    assert code == 2 and "which agent?" in err  # an agent is needed: asked for, not guessed
