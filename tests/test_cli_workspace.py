"""pull / push / diff / versions / branches / tests sync, end to end against the emulator."""

from __future__ import annotations

import json
import re

import httpx

from convai_tui.workspace.versions import PromptDraft

AGENT = "agent_dental_bella"


def remote_prompt(srv, branch=None) -> str:
    r = httpx.get(f"{srv.base_url}/v1/convai/agents/{AGENT}", params={"branch_id": branch} if branch else None,
                  headers={"xi-api-key": srv.api_key})
    return r.json()["conversation_config"]["agent"]["prompt"]["prompt"]


def patch_remote(srv, prompt: str) -> None:
    r = httpx.patch(f"{srv.base_url}/v1/convai/agents/{AGENT}", headers={"xi-api-key": srv.api_key},
                    json={"conversation_config": {"agent": {"prompt": {"prompt": prompt}}}})
    r.raise_for_status()


def test_pull_writes_prompt_version_and_tests(cli):
    code, out, err = cli("pull", AGENT)
    assert code == 0, err
    assert "saved as v1" in out
    ws = cli.ws
    assert ws.config().default_agent == AGENT
    v = ws.list(AGENT)
    assert len(v) == 1 and v[0].source.startswith("remote:")
    tests = ws.tests(AGENT)
    assert {t.body.name for t in tests} >= {"Confirms the booking", "Books with book_appointment"}
    assert all(t.sync.remote_id and not t.changed_since_sync for t in tests)
    # pulling again changes nothing
    code, out, _ = cli("pull", AGENT)
    assert "already the latest version" in out and len(ws.list(AGENT)) == 1


def test_push_then_conflict_then_force(cli):
    assert cli("pull", AGENT)[0] == 0
    ws = cli.ws
    base = ws.list(AGENT)[-1].draft
    ws.save(AGENT, PromptDraft(base.prompt + "\nAlways confirm the booking time.", base.first_message, base.llm,
                               base.temperature))
    code, out, err = cli("push", "-m", "confirm times")
    assert code == 0, err
    assert remote_prompt(cli.srv).endswith("Always confirm the booking time.")
    # someone else edits the remote prompt
    patch_remote(cli.srv, "Someone else's prompt.")
    ws.save(AGENT, PromptDraft(base.prompt + "\nMine again.", base.first_message, base.llm, base.temperature))
    code, out, err = cli("push")
    assert code == 3
    assert "changed since your last pull" in err
    assert "+Someone else's prompt." in err  # base -> remote
    assert "+Mine again." in err  # base -> local
    assert remote_prompt(cli.srv) == "Someone else's prompt."  # not clobbered
    code, out, err = cli("push", "--force")
    assert code == 0 and "(forced)" in out
    assert remote_prompt(cli.srv).endswith("Mine again.")


def test_push_to_a_new_branch(cli):
    assert cli("pull", AGENT)[0] == 0
    ws = cli.ws
    ws.save(AGENT, PromptDraft("Branch prompt", "Hello", "gpt-4o", 0.2))
    code, out, err = cli("push", "--branch", "experiment", "--create-branch", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["created_branch"]
    assert remote_prompt(cli.srv, res["created_branch"]) == "Branch prompt"
    assert remote_prompt(cli.srv) != "Branch prompt"  # main untouched
    code, out, _ = cli("branches", "list")
    assert "experiment" in out
    code, out, err = cli("branches", "merge", "experiment", "--archive")
    assert code == 0, err
    assert remote_prompt(cli.srv) == "Branch prompt"


def test_push_without_pull_is_refused(cli):
    cli.ws.save(AGENT, PromptDraft("x"))
    cli.ws.init(default_agent=AGENT)
    code, _, err = cli("push")
    assert code == 2 and "never pulled" in err


def test_diff_unified_and_side_by_side(cli, monkeypatch):
    assert cli("pull", AGENT)[0] == 0
    ws = cli.ws
    base = ws.list(AGENT)[-1].draft
    ws.save_draft(AGENT, PromptDraft(base.prompt.replace("short", "very short"), base.first_message, base.llm, 0.9))
    code, out, _ = cli("diff")
    assert code == 0
    assert "--- remote" in out and "+++ draft" in out
    assert "-# temperature: 0.4" in out and "+# temperature: 0.9" in out
    assert "\x1b[" not in out  # piped: plain text
    code, out, _ = cli("diff", "remote", "draft", "--side-by-side", "--width", "140")
    assert "1 added" not in out and "changed lines" in out and "|" in out
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, _ = cli("diff", "--side-by-side", "--width", "140")
    assert re.search(r"\x1b\[(\d+;)*7(;\d+)*m very", out), out  # word-level highlight (reverse video)
    code, out, err = cli("diff", "v9")
    assert code == 2 and "no version v9" in err


def test_versions_list_and_show(cli):
    assert cli("pull", AGENT)[0] == 0
    cli.ws.save(AGENT, PromptDraft("second", llm="x"), message="my change")
    code, out, _ = cli("versions")
    assert "v1" in out and "v2" in out and "my change" in out
    code, out, _ = cli("versions", "2", "--json")
    assert json.loads(out)["prompt"] == "second"


def test_tests_sync_both_ways_never_deleting_unasked(cli):
    assert cli("pull", AGENT)[0] == 0
    ws = cli.ws
    t = next(t for t in ws.tests(AGENT) if t.body.name == "Greets politely")
    t.body.success_condition = "The agent is polite and says thank you."
    ws.save_test(AGENT, t.body, remote_id=t.sync.remote_id, path=t.path)
    from convai_tui.api.models import AgentTestBody

    ws.save_test(AGENT, AgentTestBody(name="Brand new", type="llm", success_condition="The agent says goodbye",
                                      chat_history=[{"role": "user", "message": "bye", "time_in_call_secs": 1}]))
    (ws.agent_dir(AGENT) / "tests" / "Does-not-quote-prices.toml").unlink()  # deleted locally
    code, out, err = cli("tests", "push", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["created"] == ["Brand-new.toml"] and res["updated"] == ["Greets-politely.toml"]
    assert res["deleted"] == []
    state = cli.srv.state
    assert state.tests["test_bella_polite"]["success_condition"] == "The agent is polite and says thank you."
    assert "test_bella_no_prices" in state.tests  # not deleted without being asked
    new_id = next(i for i, t in state.tests.items() if t["name"] == "Brand new")
    attached = [a["test_id"] for a in state.agents[AGENT].platform_settings["testing"]["attached_tests"]]
    assert new_id in attached
    code, out, _ = cli("tests", "push", "--delete-remote", "--json")
    assert json.loads(out)["deleted"] == ["test_bella_no_prices"]
    # a local edit survives a pull
    t = next(t for t in ws.tests(AGENT) if t.body.name == "Brand new")
    t.body.success_condition = "edited locally"
    ws.save_test(AGENT, t.body, remote_id=t.sync.remote_id, path=t.path)
    code, out, _ = cli("tests", "pull")
    assert "edited locally: not overwritten" in out


def test_malformed_workspace_file_is_reported_with_position(cli):
    assert cli("pull", AGENT)[0] == 0
    bad = cli.ws.agent_dir(AGENT) / "prompts" / "v0002.toml"
    bad.write_text("prompt = [unclosed\n", encoding="utf-8")
    code, out, err = cli("versions")
    assert code == 0 and "v1" in out
    assert f"warning: skipped {bad}:1:" in err


def test_delete_remote_is_refused_while_a_test_file_does_not_parse(cli):
    """A test file that exists but does not parse blocks every remote deletion (it may be the very test
    that would be deleted); the refusal comes before any change, remote or local."""
    assert cli("pull", AGENT)[0] == 0
    tests_dir = cli.ws.agent_dir(AGENT) / "tests"
    broken = tests_dir / "Does-not-quote-prices.toml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nname = = 'half an edit'\n", encoding="utf-8")
    state = cli.srv.state
    before = {i: dict(t) for i, t in state.tests.items()}
    attached = list(state.agents[AGENT].platform_settings["testing"]["attached_tests"])
    code, out, err = cli("tests", "push", "--delete-remote")
    assert code == 2 and "not deleting anything remotely" in err and "Does-not-quote-prices.toml" in err
    assert {i: dict(t) for i, t in state.tests.items()} == before
    assert state.agents[AGENT].platform_settings["testing"]["attached_tests"] == attached
    # fixed, the same command deletes nothing it should not and succeeds
    broken.unlink()
    code, out, err = cli("tests", "push", "--delete-remote", "--json")
    assert code == 0, err
    assert json.loads(out)["deleted"] == ["test_bella_no_prices"]
