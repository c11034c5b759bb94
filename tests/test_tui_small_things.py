"""Smaller things of issue #18 outside the TUI sessions: ``diff`` without a draft says why, the demo
keeps one per-user workspace. (In the TUI sessions of test_tui_views: a failed call is not ticked, a
single run after an A/B has no stale B and no "A", the A/B criteria line up, the run detail names the
target and gives the rationale once, like/dislike shows at once, a test made from a conversation
leaves no duplicate version.)"""

from __future__ import annotations

from convai_tui.services.session import ConfigFlags, demo_workspace_dir, resolve_settings

AGENT = "agent_dental_bella"


def test_diff_without_a_draft_says_why(cli):
    code, _, _ = cli("pull", AGENT)
    assert code == 0
    code, out, err = cli("diff", "--agent", AGENT)
    assert code == 0 and "no draft" in err and "latest" in err
    assert out.strip() or "identical" in err


def test_the_demo_keeps_one_per_user_workspace(tmp_path):
    cwd = tmp_path / "where-i-started"
    cwd.mkdir()
    env = {"HOME": str(tmp_path / "home")}
    assert demo_workspace_dir(env) == tmp_path / "home" / ".local" / "share" / "convai-tui" / "demo"
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    settings = resolve_settings(ConfigFlags(demo=True), env=env, cwd=cwd)
    assert settings.workspace_dir == (tmp_path / "data" / "convai-tui" / "demo").resolve()
    assert settings.workspace_dir.is_absolute() and cwd not in settings.workspace_dir.parents
    assert list(cwd.iterdir()) == []
