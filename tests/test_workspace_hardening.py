"""The workspace against concurrent writers, hostile files and odd text: nothing lost, nothing
hangs, every bad file a clear ``path:line:col`` error, modes that respect the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from convai_tui.workspace import files as F
from convai_tui.workspace.store import Workspace, draft_hash
from convai_tui.workspace.versions import PromptDraft, agent_draft, normalise_text

AGENT = "agent_dental_bella"


# ----------------------------------------------------------------------------- concurrent saves
RACER = textwrap.dedent('''
    import json, os, sys, time
    from convai_tui.workspace.store import Workspace
    from convai_tui.workspace.versions import PromptDraft
    root, tag, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ws = Workspace(root)
    while not os.path.exists(go):  # start together
        time.sleep(0.001)
    saved = []
    for i in range(n):
        text = f"{tag} save {i}\\n" * (1 + i % 7)
        v = ws.save("agent_dental_bella", PromptDraft(text, first_message=f"{tag}-{i}"), message=f"{tag}/{i}")
        saved.append([v.number, text, f"{tag}-{i}"])
    print(json.dumps(saved))
''')


def test_concurrent_saves_from_several_processes_lose_nothing(tmp_path):
    """3 processes save 150 versions each at the same moment (as the TUI's autosave, ``pull`` and
    ``push --draft`` may): every save reported is on disk under its number with its content, and
    no two saves got one number. Before: check-then-os.replace lost 35-40 % of them."""
    procs, n = 3, 150
    go = tmp_path / "go"
    root = tmp_path / "ws"
    runners = [subprocess.Popen([sys.executable, "-c", RACER, str(root), f"p{k}", str(n), str(go)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(procs)]
    time.sleep(0.3)  # let them import
    go.write_text("go")
    reported = []
    for p in runners:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        reported += json.loads(out)
    numbers = [r[0] for r in reported]
    assert len(reported) == procs * n
    assert len(set(numbers)) == len(numbers), "two saves were given one number"
    ws = Workspace(root)
    on_disk = {v.number: v for v in ws.list(AGENT)}
    assert not ws.problems
    assert len(on_disk) == procs * n
    for number, text, first in reported:
        assert on_disk[number].draft.prompt == text and on_disk[number].draft.first_message == first
    assert sorted(on_disk) == list(range(1, procs * n + 1))
    assert not list((root / "agents" / AGENT / "prompts").glob(".*.tmp"))


def test_a_taken_number_is_never_overwritten(tmp_path, monkeypatch):
    """The claim itself is exclusive: even when the number was free when looked at and is taken
    just before the file is created, the other file survives and the save takes the next number."""
    ws = Workspace(tmp_path)
    ws.save(AGENT, PromptDraft("one"))
    d = ws.agent_dir(AGENT) / "prompts"
    real_write_temp = F._write_temp

    def racing_write_temp(path, data, mode):
        tmp = real_write_temp(path, data, mode)
        if path.name == "v0002.toml" and not path.exists():  # someone else claims 2 right now
            path.write_text('prompt = "theirs"\ncreated = 2026-01-01T00:00:00Z\n')
        return tmp

    monkeypatch.setattr(F, "_write_temp", racing_write_temp)
    v = ws.save(AGENT, PromptDraft("mine"))
    assert v.number == 3
    assert ws.get(AGENT, 2).draft.prompt == "theirs" and ws.get(AGENT, 3).draft.prompt == "mine"


# ----------------------------------------------------------------------------- modes
UMASK_CHILD = textwrap.dedent('''
    import json, os, stat, sys
    from pathlib import Path
    os.umask(int(sys.argv[2], 8))
    from convai_tui.workspace import files as F
    from convai_tui.workspace.store import Workspace
    from convai_tui.workspace.scenarios import Scenario
    from convai_tui.workspace.versions import PromptDraft
    root = Path(sys.argv[1])
    ws = Workspace(root)
    ws.init(default_agent="a")
    ws.save("a", PromptDraft("p"))
    ws.save_draft("a", PromptDraft("d"))
    ws.save_scenario("a", Scenario("S", persona="x"))
    F.atomic_write(root / "reports" / "junit.xml", b"<x/>")
    kept = root / "kept.toml"
    kept.write_text("x = 1\\n")
    os.chmod(kept, 0o640)
    F.atomic_write(kept, b"x = 2\\n")
    out = {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in root.rglob("*") if p.is_file()}
    print(json.dumps(out))
''')


@pytest.mark.parametrize("umask", ["022", "002", "077"])
def test_new_files_respect_the_umask_and_existing_files_keep_their_mode(tmp_path, umask):
    """Before: every file was 0600 (mkstemp) whatever the umask, so a shared workspace or a CI
    report could not be read by the group."""
    r = subprocess.run([sys.executable, "-c", UMASK_CHILD, str(tmp_path), umask], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    modes = json.loads(r.stdout)
    want = oct(0o666 & ~int(umask, 8))
    assert modes.pop("kept.toml") == oct(0o640)
    assert set(modes) == {"convai.toml", "agents/a/prompts/v0001.toml", "agents/a/draft.toml",
                          "agents/a/scenarios/S.toml", "reports/junit.xml"}
    assert set(modes.values()) == {want}, modes


def test_temp_files_never_follow_a_symlink(tmp_path, monkeypatch):
    """A symlink planted where the temporary file goes is never written through."""
    import secrets

    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    monkeypatch.setattr(secrets, "token_hex", lambda n: "fixed")
    (ws_dir / ".convai.toml.fixed.tmp").symlink_to(outside)
    with pytest.raises(F.WorkspaceError, match="temporary file"):
        F.atomic_write(ws_dir / "convai.toml", b"x = 1\n")
    assert outside.read_text() == "precious"


# ----------------------------------------------------------------------------- version numbers
def test_versions_past_999999_are_listed_in_numeric_order(tmp_path):
    """Before: v1000000.toml was written but never listed (the name pattern allowed 6 digits),
    so push and listing never saw the newest versions."""
    ws = Workspace(tmp_path)
    d = ws.agent_dir(AGENT) / "prompts"
    d.mkdir(parents=True)
    for name in ("v0009.toml", "v10.toml", "v999999.toml"):
        (d / name).write_text(f'prompt = "{name}"\ncreated = 2026-01-01T00:00:00Z\n')
    v = ws.save(AGENT, PromptDraft("a million"))
    assert v.number == 1_000_000 and (d / "v1000000.toml").is_file()
    v = ws.save(AGENT, PromptDraft("and one"))
    assert v.number == 1_000_001
    listed = ws.list(AGENT)
    assert [x.number for x in listed] == [9, 10, 999_999, 1_000_000, 1_000_001]
    assert listed[-1].draft.prompt == "and one" and ws.get(AGENT, 1_000_000).draft.prompt == "a million"
    # two files for one number: the canonical name wins, the other is reported
    (d / "v9.toml").write_text('prompt = "dup"\ncreated = 2026-01-01T00:00:00Z\n')
    ws.problems.clear()
    assert ws.get(AGENT, 9).draft.prompt == "v0009.toml"
    assert ws.problems and "another file for version 9" in ws.problems[0]


# ----------------------------------------------------------------------------- text normalisation
def fake_agent(prompt: str, first: str, llm: str, temperature=0.4):
    p = SimpleNamespace(prompt=prompt, llm=llm, temperature=temperature)
    return SimpleNamespace(prompt=p, first_message=first, agent_id=AGENT, version_id="v1")


def test_every_text_field_is_normalised_so_an_unchanged_remote_is_not_a_new_version(tmp_path):
    """A remote first_message with CRLF (or a lone CR, in any field) made every pull save a new,
    identical version, and the TUI showed a false "remote changed": only the prompt was normalised."""
    agent = fake_agent("line one\r\nline two\rthree", "Hi!\r\nHow can I help?", "gpt-4o\r")
    d = agent_draft(agent)
    assert d == PromptDraft("line one\nline two\nthree", "Hi!\nHow can I help?", "gpt-4o\n", 0.4)
    ws = Workspace(tmp_path)
    ws.save(AGENT, d)
    again = agent_draft(agent)  # the next pull: the same remote
    assert Workspace(tmp_path).list(AGENT)[-1].draft == again
    assert draft_hash(again) == draft_hash(PromptDraft("line one\r\nline two\rthree", "Hi!\r\nHow can I help?",
                                                       "gpt-4o\r", 0.4))
    ws.save_draft(AGENT, PromptDraft("a\r\nb", "c\rd"))
    assert Workspace(tmp_path).load_draft(AGENT)[0] == PromptDraft("a\nb", "c\nd")


def test_pulling_an_unchanged_remote_with_crlf_twice_saves_one_version(cli):
    import asyncio

    from convai_tui.api.client import ConvAIClient
    from convai_tui.api.models import AgentUpdate, prompt_patch

    async def crlf():
        async with ConvAIClient(cli.srv.api_key, base_url=cli.srv.base_url) as c:
            await c.update_agent(AGENT, AgentUpdate(conversation_config=prompt_patch(
                "Be kind.\r\nAlways confirm.", first_message="Hi, Bella Dental.\r\nHow can I help?")))

    asyncio.run(crlf())
    for _ in range(3):
        code, out, err = cli("pull", AGENT, "--no-tests")
        assert code == 0, err
    versions = cli.ws.list(AGENT)
    assert len(versions) == 1
    assert versions[0].draft.first_message == "Hi, Bella Dental.\nHow can I help?"


def test_lone_surrogates_and_bad_values_are_saved_or_refused_cleanly(tmp_path):
    """API text can hold a lone surrogate (valid JSON "\\ud800"); an argument can hold one (an
    undecodable byte). Before: UnicodeEncodeError, and a pydantic error for a bad temperature."""
    ws = Workspace(tmp_path)
    v = ws.save(AGENT, PromptDraft("bad \ud800 text", "hi \udcff"), message="from argv \udcfe")
    back = Workspace(tmp_path).get(AGENT, v.number)
    assert back.draft == PromptDraft("bad \ufffd text", "hi \ufffd") == v.draft
    assert back.message == "from argv \ufffd"
    assert normalise_text(None) == "" and normalise_text("a\r\n\rb") == "a\n\nb"
    for t in (5.0, float("inf"), float("nan")):
        with pytest.raises(F.WorkspaceError, match="not saved: temperature"):
            ws.save(AGENT, PromptDraft("x", temperature=t))
        with pytest.raises(F.WorkspaceError, match="not saved: temperature"):
            ws.save_draft(AGENT, PromptDraft("x", temperature=t))


# ----------------------------------------------------------------------------- hostile files
def deep_array(n: int) -> str:
    return "x = " + "[" * n + "1" + "]" * n + "\n"


def deep_table(n: int) -> str:
    return "x = " + "{a = " * n + "1" + "}" * n + "\n"


DEEP = {  # (content, size): 500 to 5,000 levels, 1 KB to 100 KB
    "array-500": deep_array(500), "array-5000": deep_array(5000), "table-500": deep_table(500),
    "table-20000": deep_table(20_000), "dotted-600": "a" + ".a" * 600 + " = 1\n",
    "header-600": "[" + ".".join(["t"] * 600) + "]\nb = 2\n", "array-64-ok": deep_array(64),
}


@pytest.mark.parametrize("kind", list(DEEP))
def test_deeply_nested_toml_is_a_file_format_error_everywhere(tmp_path, kind):
    """Before: a 1 KB file nested 500 levels raised RecursionError in ``versions`` and killed the
    TUI at start. Now: ``path:line:col: nested more than 64 levels deep``, the file skipped like any
    malformed file, in a version, the draft, a scenario, a test and the config."""
    text = DEEP[kind]
    ws = Workspace(tmp_path)
    ws.save(AGENT, PromptDraft("good"))
    base = ws.agent_dir(AGENT)
    files = {"version": base / "prompts" / "v0002.toml", "draft": base / "draft.toml",
             "scenario": base / "scenarios" / "deep.toml", "test": base / "tests" / "deep.toml"}
    for p in files.values():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('prompt = "x"\ncreated = 2026-01-01T00:00:00Z\n' + text if p.parent.name == "prompts" else text)
    (tmp_path / "convai.toml").write_text(text)
    ws = Workspace(tmp_path)
    assert [v.number for v in ws.list(AGENT)] == [1]
    assert ws.load_draft(AGENT) is None
    assert ws.scenarios(AGENT) == []
    assert ws.tests(AGENT) == []
    with pytest.raises(F.FileFormatError) as ei:
        ws.config()
    problems = [*ws.problems, str(ei.value)]
    assert len(problems) == 5
    for p in problems:
        if kind == "array-64-ok":  # not too deep: only its own problems (unknown keys, wrong types)
            assert "nested more than" not in p
        else:
            assert ": nested more than 64 levels deep" in p, p
            path, line, col = p.split(":")[:3]
            assert Path(path).is_file() and int(line) >= 1 and int(col) >= 1


def test_saving_data_too_deep_to_load_again_is_refused(tmp_path):
    from convai_tui.workspace.scenarios import Scenario

    deep: dict = {}
    x = deep
    for _ in range(100):
        x["a"] = {}
        x = x["a"]
    with pytest.raises(F.WorkspaceError, match="nested more than 64 levels"):
        Workspace(tmp_path).save_scenario(AGENT, Scenario("S", dynamic_variables=deep))
    assert not (Workspace(tmp_path).agent_dir(AGENT) / "scenarios" / "S.toml").exists()


def test_huge_fifo_and_device_files_are_refused_without_hanging(tmp_path):
    """An 11 MB version file, a FIFO and /dev/zero (through a symlink in a cloned repository):
    refused in bounded time and memory, never opened in a way that blocks. Run in a subprocess so
    that a regression hangs it, not the suite."""
    ws = Workspace(tmp_path)
    ws.save(AGENT, PromptDraft("good"))
    d = ws.agent_dir(AGENT) / "prompts"
    (d / "v0002.toml").write_bytes(b'prompt = """' + b"x" * (11 * 2**20) + b'"""\ncreated = 2026-01-01T00:00:00Z\n')
    os.mkfifo(d / "v0003.toml")
    os.mkfifo(ws.agent_dir(AGENT) / "draft.toml")
    code = textwrap.dedent(f'''
        import resource, json
        from convai_tui.workspace.store import Workspace
        ws = Workspace({str(tmp_path)!r})
        nums = [v.number for v in ws.list("{AGENT}")]
        draft = ws.load_draft("{AGENT}")
        hwm = [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")]  # own peak
        rss = hwm[0] / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"nums": nums, "draft": draft, "problems": ws.problems, "rss_mb": rss}}))
    ''')
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 30
    out = json.loads(r.stdout)
    assert out["nums"] == [1] and out["draft"] is None
    probs = "\n".join(out["problems"])
    assert "v0002.toml:1:1: the file is 11,534," in probs and "more than the 10,485,760 a workspace file" in probs
    assert "v0003.toml:1:1: not a regular file" in probs and "draft.toml:1:1: not a regular file" in probs
    assert out["rss_mb"] < 200
    if os.path.exists("/dev/zero"):
        (d / "v0004.toml").symlink_to("/dev/zero")
        with pytest.raises(F.FileFormatError, match="not a regular file"):
            F.read(d / "v0004.toml")


def test_symlinks_out_of_the_workspace_are_neither_read_nor_written(tmp_path):
    """A cloned repository may link ``prompts/`` or ``draft.toml`` anywhere: nothing is read from,
    or written to, a place outside the workspace."""
    outside = tmp_path / "outside"
    (outside / "prompts").mkdir(parents=True)
    (outside / "prompts" / "v0001.toml").write_text('prompt = "secret elsewhere"\ncreated = 2026-01-01T00:00:00Z\n')
    (outside / "draft.toml").write_text('prompt = "x"\nsaved = 2026-01-01T00:00:00Z\n')
    root = tmp_path / "ws"
    ws = Workspace(root)
    base = ws.agent_dir(AGENT)
    base.mkdir(parents=True)
    (base / "prompts").symlink_to(outside / "prompts")
    (base / "draft.toml").symlink_to(outside / "draft.toml")
    assert ws.list(AGENT) == [] and ws.load_draft(AGENT) is None
    assert all("leads outside the workspace" in p for p in ws.problems) and len(ws.problems) == 2
    with pytest.raises(F.WorkspaceError, match="leads outside the workspace"):
        ws.save(AGENT, PromptDraft("mine"))
    with pytest.raises(F.WorkspaceError, match="leads outside the workspace"):
        ws.save_draft(AGENT, PromptDraft("mine"))
    assert sorted(p.name for p in (outside / "prompts").iterdir()) == ["v0001.toml"]
    assert "mine" not in (outside / "draft.toml").read_text()
    # a link that stays inside the workspace is fine
    (base / "scenarios").mkdir()
    (root / "shared.toml").write_text('name = "Shared"\npersona = "p"\n')
    (base / "scenarios" / "shared.toml").symlink_to(root / "shared.toml")
    assert [s.name for s in ws.scenarios(AGENT)] == ["Shared"]


def test_unreadable_directories_are_problems_not_crashes(tmp_path, monkeypatch):
    ws = Workspace(tmp_path)
    ws.save(AGENT, PromptDraft("x"))
    from convai_tui.workspace.scenarios import Scenario
    ws.save_scenario(AGENT, Scenario("S"))

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", denied)
    assert ws.list(AGENT) == [] and ws.scenarios(AGENT) == [] and ws.tests(AGENT) == [] and ws.agent_ids() == []
    assert len(ws.problems) == 3 and all("cannot list: Permission denied" in p for p in ws.problems)  # no tests dir
