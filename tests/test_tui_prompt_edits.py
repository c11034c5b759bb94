"""Edits are never lost by a key (issue #18): save with a message, restore and revert ask first over
unsaved edits, ``● modified`` clears when the text is back to the saved one, the prompt goes to
$EDITOR and comes back as an unsaved edit."""

from __future__ import annotations

import contextlib
from pathlib import Path

from textual.widgets import TextArea

from convai_tui.tui.prompt.external import edit_externally, editor_command
from convai_tui.tui.prompt.versions import VersionsScreen
from convai_tui.tui.widgets.dialogs import ChoiceScreen
from convai_tui.workspace.store import Workspace

from tui_helpers import make_app, ready, save_version, wait_for

AGENT = "agent_dental_bella"


async def test_save_message_restore_and_revert_never_lose_an_edit(tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", _editor(tmp_path, 'echo replaced > "$1"\n'))
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app(workspace_dir=str(tmp_path))
    shown: list[str] = []
    real = app.notify
    app.notify = lambda m, **kw: (shown.append(str(m)), real(m, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, AGENT)
        pane = app.prompt_pane
        frame = app.main.query_one("#prompt")
        editor = pane.query_one("#prompt-text", TextArea)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.focused is editor, what="editor")
        original = editor.text

        # ● modified appears with an edit and clears when the text is back to the saved one
        await pilot.press("ctrl+end", *" Be warm.")
        assert pane.dirty and frame.border_subtitle == "● modified"
        await pilot.press(*["backspace"] * len(" Be warm."))
        assert editor.text == original and not pane.dirty and frame.border_subtitle == ""
        await pilot.press(*" Be warm.")
        await pilot.press("ctrl+z")  # undo back to the saved text: not modified either
        await wait_for(pilot, lambda: not pane.dirty, what="undo back to saved")
        assert frame.border_subtitle == ""

        # save with a message: it lands in the version's file
        await pilot.press(*" Always confirm the time.")
        await save_version(pilot, "confirm times")
        versions = Workspace(tmp_path).list(AGENT)
        assert versions[-1].message == "confirm times" and versions[-1].draft.prompt.endswith("confirm the time.")
        assert not pane.dirty
        path = tmp_path / "agents" / AGENT / "prompts" / f"v{versions[-1].number:04d}.toml"
        assert 'message = "confirm times"' in path.read_text()
        # Enter with nothing saves without a message
        await pilot.press(*" Twice.")
        await save_version(pilot)
        assert Workspace(tmp_path).list(AGENT)[-1].message == ""

        # restoring over unsaved edits asks first; Cancel keeps them
        await pilot.press(*" Unsaved edit.")
        edited = editor.text
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen), what="versions")
        await pilot.press("end", "enter")  # the oldest: v1, the remote
        choice = await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen, what="question")
        assert "unsaved edits" in str(choice.query_one("Static").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceScreen), what="closed")
        assert editor.text == edited and pane.dirty
        # ... "Save my edits" keeps them as a version, then restores
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen), what="versions")
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="question")
        await pilot.click("#choice-save")
        await wait_for(pilot, lambda: editor.text == original, what="restored v1")
        kept = Workspace(tmp_path).list(AGENT)[-1]
        assert kept.draft.prompt == edited and kept.message.startswith("before restoring v1")
        assert not pane.dirty  # the editor holds a saved version
        # ctrl+z in the editor brings the text from before the restore back
        editor.focus()
        await wait_for(pilot, lambda: app.focused is editor, what="editor")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: editor.text == edited, what="undo of the restore")

        # revert asks first; Discard goes back to the last saved version
        assert pane.dirty
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="revert question")
        await pilot.click("#choice-discard")
        await wait_for(pilot, lambda: not pane.dirty and editor.text == original, what="reverted")

        # $EDITOR where the terminal cannot hand over (headless, as here): said, the prompt untouched
        # (the real hand-over is tested in tmux: test_tmux.py)
        editor.focus()
        await wait_for(pilot, lambda: app.focused is editor, what="editor")
        await pilot.press("escape", "e")
        await wait_for(pilot, lambda: any("cannot hand over" in m for m in shown), what="the message")
        assert editor.text == original and not pane.dirty


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


class _FakeApp:
    """What edit_externally needs of the app: suspend() (a real terminal hand-over in the app)."""

    suspended = 0

    @contextlib.contextmanager
    def suspend(self):
        self.suspended += 1
        yield


def test_external_editor_round_trip_and_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR read again
    app = _FakeApp()
    monkeypatch.delenv("VISUAL", raising=False)
    # the editor gets a private copy (0600), its edit comes back, the trailing newline it added goes
    monkeypatch.setenv("EDITOR", _editor(tmp_path, f'stat -c %a "$1" > {tmp_path}/mode; printf "\\nmore" >> "$1"\n'
                                                  'printf "\\n" >> "$1"\n'))
    res = edit_externally(app, "line one")  # type: ignore[arg-type]
    assert res.error == "" and res.text == "line one\nmore" and app.suspended == 1
    assert (tmp_path / "mode").read_text().strip() == "600"
    assert list((tmp_path / "tmp").iterdir()) == []
    # $VISUAL wins over $EDITOR; arguments are kept ("code --wait" style)
    monkeypatch.setenv("VISUAL", "myeditor --wait")
    assert editor_command() == (["myeditor", "--wait"], "$VISUAL")
    monkeypatch.delenv("VISUAL")
    # an editor that fails: nothing applied; what it wrote is kept, and the message says where
    monkeypatch.setenv("EDITOR", _editor(tmp_path, 'echo changed > "$1"; exit 3\n'))
    res = edit_externally(app, "keep me")  # type: ignore[arg-type]
    assert res.text is None and "exited with status 3" in res.error and "kept in" in res.error
    kept = list((tmp_path / "tmp").iterdir())
    assert len(kept) == 1 and kept[0].read_text() == "changed\n"
    kept[0].unlink()
    # an editor that does not exist: said before the app steps aside
    monkeypatch.setenv("EDITOR", "no-such-editor-anywhere")
    res = edit_externally(app, "x")  # type: ignore[arg-type]
    assert "not found" in res.error and app.suspended == 2
    # nothing set and no vi: what to set
    monkeypatch.setenv("EDITOR", "")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert editor_command() == ([], "")
    assert "set $VISUAL or $EDITOR" in edit_externally(app, "x").error  # type: ignore[arg-type]
    assert list((tmp_path / "tmp").iterdir()) == []
