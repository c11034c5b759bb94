"""The TOML workspace: round trips, precise errors, atomic writes, external edits, names."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from convai_tui.workspace import files as F
from convai_tui.workspace.diff import column_width, lay_out_side_by_side, side_by_side, unified
from convai_tui.workspace.scenarios import Criterion, Scenario, ToolMock
from convai_tui.workspace.store import Workspace
from convai_tui.workspace.versions import PromptDraft

AGENT = "agent_dental_bella"
PROMPT = "You are helpful.\n\nRules:\n- be brief\n- \"quote\" and \\backslash\\\n- ăîșț 日本\n"


def test_version_round_trip_is_byte_stable(tmp_path):
    ws = Workspace(tmp_path)
    v = ws.save(AGENT, PromptDraft(PROMPT, "Hi!", "gpt-4o", 0.3), message="first")
    path = ws.agent_dir(AGENT) / "prompts" / "v0001.toml"
    raw = path.read_bytes()
    assert b'prompt = """' in raw  # multi-line prompts stay readable
    assert ws.list(AGENT)[0].draft == v.draft == PromptDraft(PROMPT, "Hi!", "gpt-4o", 0.3)
    # load and save again: the same bytes
    data = F.parse_toml(path, raw)
    assert F.dump_toml(data) == raw


def test_versions_numbering_and_listing(tmp_path):
    ws = Workspace(tmp_path)
    for i in range(3):
        ws.save(AGENT, PromptDraft(f"p{i}"))
    assert [v.number for v in ws.list(AGENT)] == [1, 2, 3]
    assert ws.get(AGENT, 2).draft.prompt == "p1"
    # another process saved v0004 meanwhile: the next save takes v0005, nothing overwritten
    (ws.agent_dir(AGENT) / "prompts" / "v0004.toml").write_text(
        'prompt = "theirs"\ncreated = 2026-01-01T00:00:00Z\n', encoding="utf-8")
    v = ws.save(AGENT, PromptDraft("mine"))
    assert v.number == 5 and ws.get(AGENT, 4).draft.prompt == "theirs"


def test_malformed_toml_gives_path_line_col_and_is_not_overwritten(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(AGENT, PromptDraft("ok"))
    bad = ws.agent_dir(AGENT) / "prompts" / "v0002.toml"
    bad.write_text('prompt = "fine"\ncreated = 2026-01-01T00:00:00Z\nllm = "unterminated\n', encoding="utf-8")
    before = bad.read_bytes()
    versions = ws.list(AGENT)
    assert [v.number for v in versions] == [1]
    assert len(ws.problems) == 1
    assert ws.problems[0].startswith(f"{bad}:3:")
    ws.save(AGENT, PromptDraft("next"))
    assert bad.read_bytes() == before


def test_wrong_types_point_at_the_key(tmp_path):
    ws = Workspace(tmp_path)
    p = ws.agent_dir(AGENT) / "prompts" / "v0001.toml"
    p.parent.mkdir(parents=True)
    p.write_text(textwrap.dedent('''\
        prompt = "x"
        created = 2026-01-01T00:00:00Z
        temperature = "hot"
        '''), encoding="utf-8")
    ws.list(AGENT)
    assert ws.problems == [f"{p}:3:1: temperature: Input should be a valid number, unable to parse string as a number"]
    p.write_text('prompt = "x"\ncreated = 2026-01-01T00:00:00Z\ntemprature = 0.5\n', encoding="utf-8")
    ws.problems.clear()
    ws.list(AGENT)
    assert ws.problems[0].startswith(f"{p}:3:1: temprature: Extra inputs are not permitted")


def test_binary_and_invalid_utf8_files(tmp_path):
    p = tmp_path / "x.toml"
    p.write_bytes(b'prompt = "ok"\nname = "\xff\xfe"\n')
    with pytest.raises(F.FileFormatError, match=r"x.toml:2:\d+: not valid UTF-8"):
        F.read(p)
    p.write_bytes(b'a = 1\n\x00\x01')
    with pytest.raises(F.FileFormatError, match="NUL byte"):
        F.read(p)


def test_api_key_is_refused_in_the_config(tmp_path):
    (tmp_path / "convai.toml").write_text('base_url = "http://x"\napi_key = "sk_123"\n', encoding="utf-8")
    with pytest.raises(F.FileFormatError, match="secrets never go in the workspace"):
        Workspace(tmp_path).config()


def test_external_edit_is_never_silently_overwritten(tmp_path):
    ws = Workspace(tmp_path)
    ws.init(default_agent=AGENT)
    cfg = ws.config()
    # someone edits the file after we loaded it
    time.sleep(0.01)
    ws.config_path.write_text('default_agent = "agent_theirs"\n', encoding="utf-8")
    cfg.base_url = "http://mine"
    with pytest.raises(F.ExternalEditConflict, match="changed on disk"):
        ws.save_config(cfg)
    assert "agent_theirs" in ws.config_path.read_text()
    # after reloading, saving works
    cfg = ws.config()
    cfg.base_url = "http://mine"
    ws.save_config(cfg)
    assert Workspace(tmp_path).config().default_agent == "agent_theirs"


def test_a_file_never_loaded_is_not_clobbered(tmp_path):
    ws = Workspace(tmp_path)
    s = Scenario("Booking", persona="p")
    ws.save_scenario(AGENT, s)
    other = Workspace(tmp_path)  # a second process that never loaded it
    with pytest.raises(F.ExternalEditConflict):
        other.save_scenario(AGENT, Scenario("Booking", persona="different"))
    other.save_scenario(AGENT, Scenario("Booking", persona="different"), overwrite=True)
    assert Workspace(tmp_path).scenarios(AGENT)[0].persona == "different"


def test_scenario_round_trip(tmp_path):
    ws = Workspace(tmp_path)
    s = Scenario("Difficult caller", persona="angry\nvery", first_message="Hi", language="ro", turn_limit=12,
                 tool_mocks={"book": ToolMock("down", True)}, criteria=[Criterion("polite", "Be polite")],
                 partial_history=[{"role": "user", "message": "x", "time_in_call_secs": 1}],
                 dynamic_variables={"name": "Ana"})
    path = ws.save_scenario(AGENT, s)
    assert path.name == "Difficult-caller.toml"
    assert ws.scenarios(AGENT) == [s]
    raw = path.read_bytes()
    assert F.dump_toml(F.parse_toml(path, raw)) == raw


@pytest.mark.parametrize("name,expected", [
    ("../../x", "x"), ("/etc/passwd", "etc-passwd"), ("a\x00b", "a-b"), ("con", "con_"), ("LPT1", "LPT1_"),
    ("..", "untitled"), ("", "untitled"), ("Confirmă ora", "Confirmă-ora"), ("a/../../b", "a-b"),
    ("x" * 300, "x" * 80),
])
def test_safe_filenames(name, expected):
    assert F.safe_filename(name) == expected


def test_path_traversal_names_stay_inside(tmp_path):
    ws = Workspace(tmp_path)
    path = ws.save_scenario("../../../evil", Scenario("../../../../escape", persona="x"))
    assert tmp_path in path.resolve().parents
    assert ws.test_path("a/../../b", "../../t").resolve().is_relative_to(tmp_path)


def test_disk_full_on_save_keeps_the_old_file(small_fs):
    ws = Workspace(small_fs)
    ws.save(AGENT, PromptDraft("the old version"))
    old = (ws.agent_dir(AGENT) / "prompts" / "v0001.toml").read_bytes()
    ws.init(default_agent=AGENT)
    cfg = ws.config()
    fd = os.open(small_fs / "filler", os.O_WRONLY | os.O_CREAT)  # fill the disk
    try:
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    with pytest.raises(F.WorkspaceError, match="disk is full"):
        ws.save_draft(AGENT, PromptDraft("x" * 200_000))
    cfg.base_url = "http://" + "y" * 100_000
    with pytest.raises(F.WorkspaceError, match="disk is full.*intact"):
        ws.save_config(cfg)
    assert (ws.agent_dir(AGENT) / "prompts" / "v0001.toml").read_bytes() == old
    assert Workspace(small_fs).config().default_agent == AGENT
    leftovers = [p for p in small_fs.rglob(".*.tmp")]
    assert leftovers == []


def test_read_only_workspace_is_a_clear_error(small_fs):
    ws = Workspace(small_fs)
    ws.save(AGENT, PromptDraft("v1"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    with pytest.raises(F.WorkspaceError, match="read-only"):
        ws.save(AGENT, PromptDraft("v2"))
    assert [v.draft.prompt for v in Workspace(small_fs).list(AGENT)] == ["v1"]


def test_interrupted_save_between_write_and_replace(tmp_path):
    """A process killed after writing the temp file but before os.replace: the old file is intact."""
    target = tmp_path / "v.toml"
    target.write_bytes(b'prompt = "old"\n')
    code = textwrap.dedent(f'''
        import os, sys
        from pathlib import Path
        from convai_tui.workspace import files as F
        real = os.replace
        def die(*a, **k):
            os._exit(9)  # killed between write+fsync and replace
        os.replace = die
        F.atomic_write(Path({str(target)!r}), b'prompt = "new"\\n')
    ''')
    r = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert r.returncode == 9
    assert target.read_bytes() == b'prompt = "old"\n'


def test_draft_autosave_and_recovery(tmp_path):
    ws = Workspace(tmp_path)
    assert ws.load_draft(AGENT) is None
    ws.save_draft(AGENT, PromptDraft("typing…", llm="x"), based_on=3)
    d, when = Workspace(tmp_path).load_draft(AGENT)
    assert d.prompt == "typing…" and when.tzinfo is not None
    ws.clear_draft(AGENT)
    assert ws.load_draft(AGENT) is None


def test_diff_side_by_side_and_words():
    old = "alpha beta\nsame\nremoved line\nend"
    new = "alpha gamma\nsame\nend\nadded"
    sbs = side_by_side(old, new)
    kinds = [r.kind for r in sbs.rows]
    assert kinds == ["replace", "equal", "delete", "equal", "insert"]
    r0 = sbs.rows[0]
    assert r0.left[r0.left_spans[0][0]:r0.left_spans[0][1]] == "beta"
    assert r0.right[r0.right_spans[0][0]:r0.right_spans[0][1]] == "gamma"
    assert sbs.hunks == [0, 2, 4]
    plain = [row.plain(column_width(80)) for row in lay_out_side_by_side(sbs, 80, context=None)]
    assert len(plain) == 5 and "|" in plain[0] and ">" in plain[4]
    u = unified(old, new, "a", "b")
    assert u[0] == "--- a" and "-alpha beta" in u and "+alpha gamma" in u


def test_diff_of_10000_line_prompts():
    old = "\n".join(f"line {i} of the prompt with some words" for i in range(10_000))
    new_lines = old.split("\n")
    for i in range(0, 10_000, 500):
        new_lines[i] = new_lines[i].replace("some", "other")
    new_lines.insert(5000, "an inserted line")
    sbs = side_by_side(old, "\n".join(new_lines))
    assert sbs.changed == 20 and sbs.added == 1
    assert len(sbs.hunks) == 20  # the insertion touches the change at 5000: one hunk
    assert len(sbs.rows) == 10_001
