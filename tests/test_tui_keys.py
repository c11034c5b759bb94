"""Keys that work in tmux, screen and over SSH; leaving fields; undo; help; zoom (issue #18).

The terminal's bytes go through Textual's own parser (``feed``), as the driver does: what tmux sends
for alt+3 is ESC 3, and that has to reach the app as alt+3, never as "£"."""

from __future__ import annotations

from textual._xterm_parser import XTermParser
from textual.widgets import Input, TextArea

from convai_tui.tui.terminal import META_SEQUENCES, meta_digits_as_alt
from convai_tui.tui.widgets.fields import Field
from convai_tui.tui.widgets.help import HelpScreen

from tui_helpers import make_app, ready, wait_for

PANES = ("conversations", "prompt", "simulation", "tests")


def parse(data: str) -> list:
    """The key events a terminal's bytes become (the escape timeout taken as passed: end of input)."""
    p = XTermParser()
    return [e for e in [*p.feed(data), *p.feed("")] if hasattr(e, "key")]


async def feed(pilot, data: str) -> None:
    """Send raw terminal bytes to the app, as its driver would."""
    for event in parse(data):
        pilot.app.post_message(event)
    await pilot.pause()


def test_esc_digit_is_alt_digit_and_a_pound_sign_is_a_pound_sign():
    meta_digits_as_alt()
    assert [(e.key, e.character) for e in parse("\x1b3")] == [("alt+3", "3")]  # tmux send-keys M-3
    assert [e.key for e in parse("\x1b1")] == ["alt+1"] and [e.key for e in parse("\x1b4")] == ["alt+4"]
    assert [(e.key, e.character) for e in parse("£")] == [("pound_sign", "£")]  # a UK keyboard's £ still types
    assert [(e.key, e.character) for e in parse("\x1bz")] == [("alt+z", "z")]
    assert [e.key for e in parse("\x1b")] == ["escape"]
    assert [e.key for e in parse("\x1bOP")] == ["f1"] and [e.key for e in parse("\x1b[11~")] == ["f1"]
    # the entries removed are exactly Textual's macOS Option characters for ESC+digit
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    assert not any(s in ANSI_SEQUENCES_KEYS for s in META_SEQUENCES)


async def _from_every_widget(pilot, app) -> None:
    main = app.main
    prompt = app.prompt_pane
    editor = prompt.query_one("#prompt-text", TextArea)

    def active() -> str:
        return next(p for p in PANES if main.query_one(f"#{p}").display)

    # 1-4 type in a text field: the editor gets the digits, the pane stays
    await pilot.press("2")
    await wait_for(pilot, lambda: app.focused is editor, what="editor focused")
    before = editor.text
    await pilot.press("ctrl+end", *"1234")
    assert editor.text == before + "1234" and active() == "prompt"

    # ESC 3 (tmux M-3) from the editor, the first message, llm, temperature, search box, repeat count,
    # the table, the grid: always the pane, never a typed character
    widgets = ["#prompt-text", "#prompt-first", "#prompt-llm", "#prompt-temp", "#conv-search", "#tests-repeat",
               "#conv-table", "#tests-grid", "#sim-scenario"]
    for n, wid in enumerate(widgets):
        w = main.query_one(wid)
        owner = next(p for p in PANES if main.query_one(f"#{p}") in w.ancestors)
        app.action_show_pane(owner)
        w.focus()
        await wait_for(pilot, lambda: app.focused is w, what=f"{wid} focused (now {app.focused})")
        text = w.text if isinstance(w, TextArea) else (w.value if isinstance(w, Input) else None)
        target = PANES[(PANES.index(owner) + 1 + n % 3) % 4]
        await feed(pilot, f"\x1b{PANES.index(target) + 1}")
        await wait_for(pilot, lambda: active() == target, what=f"ESC digit from {wid} -> {target}")
        after = w.text if isinstance(w, TextArea) else (w.value if isinstance(w, Input) else None)
        assert after == text, f"{wid} was changed by ESC digit: {after!r}"
    assert "£" not in editor.text and "¡" not in editor.text


async def _esc_leaves_a_field(pilot, app) -> None:
    main = app.main
    prompt = app.prompt_pane
    editor = prompt.query_one("#prompt-text", TextArea)
    first = prompt.query_one("#prompt-first", TextArea)
    llm = prompt.query_one("#prompt-llm", Input)
    app.action_show_pane("prompt")
    await wait_for(pilot, lambda: app.focused is editor, what="editor")
    snapshot = prompt.current_draft()

    # Esc: focus rests on the pane (not on the next input), nothing selected, nothing changed
    await pilot.press("escape")
    assert app.focused is prompt
    assert first.selected_text == "" and llm.selection.is_empty
    await pilot.press("x")  # a key now is a command or nothing: it replaces no text
    assert prompt.current_draft() == snapshot

    # Tab into the fields: focusing one selects nothing (the next key must not replace it)
    llm.focus()
    await wait_for(pilot, lambda: app.focused is llm, what="llm")
    assert llm.selection.is_empty
    await pilot.press("escape")
    assert app.focused is prompt and llm.value == snapshot.llm

    # Enter goes back into the editor; Esc then a digit (the bytes split by a slow link) switches
    await pilot.press("enter")
    assert app.focused is editor
    await pilot.press("escape", "3")
    await wait_for(pilot, lambda: main.query_one("#simulation").display, what="pane 3")

    # ESC and 3 handled back to back, before focus could move: the 3 still goes to the pane
    app.action_show_pane("prompt")
    await wait_for(pilot, lambda: app.focused is editor, what="editor again")
    text = editor.text
    for event in parse("\x1b") + parse("3"):
        app.post_message(event)
    await wait_for(pilot, lambda: main.query_one("#simulation").display, what="pane 3 after a burst")
    assert editor.text == text

    # alt+letter while typing = Esc, letter: alt+z zooms the pane (and types no z)
    app.action_show_pane("prompt")
    await wait_for(pilot, lambda: app.focused is editor, what="editor")
    await feed(pilot, "\x1bz")
    assert main.maximized is main.query_one("#prompt") and editor.text == text
    assert not main.query_one("#pane-tabs").region.height  # the zoomed pane has the screen
    assert main.query_one("#topbar").region.height == 1  # the agent and server stay in view
    await pilot.press("3")  # switching panes keeps the zoom, on the new pane
    assert main.maximized is main.query_one("#simulation")
    await pilot.press("z")
    assert main.maximized is None


async def _undo_in_inputs(pilot, app) -> None:
    app.action_show_pane("prompt")
    llm = app.prompt_pane.query_one("#prompt-llm", Field)
    llm.focus()
    await wait_for(pilot, lambda: app.focused is llm, what="llm")
    original = llm.value
    await pilot.press("end", *"-lite", "backspace", "backspace")
    assert llm.value == original + "-li"
    await pilot.press("ctrl+z")
    assert llm.value == original + "-lit"
    await pilot.press("ctrl+z")
    assert llm.value == original + "-lite"
    await pilot.press("ctrl+z")  # typing a word is one step
    assert llm.value == original
    await pilot.press("ctrl+z")  # the loaded value is where undo stops
    assert llm.value == original
    await pilot.press("ctrl+y", "ctrl+y")
    assert llm.value == original + "-lit"
    await pilot.press("x")  # a new edit ends the redo chain
    await pilot.press("ctrl+y")
    assert llm.value == original + "-litx"


async def _help(pilot, app) -> None:
    app.action_show_pane("conversations")
    await wait_for(pilot, lambda: app.focused is app.conversations_pane.table, what="the table")
    await wait_for(pilot, lambda: "Keys" in " ".join(str(w.render()) for w in app.screen.query("Footer *")),
                   what="? Keys in the footer")
    await pilot.press("?")  # from the table
    help_ = await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen, what="help")
    text = help_.plain()
    assert "Anywhere" in text and "Conversations" in text and "Prompt" not in text.split("\n")
    assert "Go to the Simulation pane" in text and "/  Search the conversations" in text
    about = str(help_.query_one("#help-about").render())  # whole, where the top bar may shorten them
    assert "Server: offline demo emulator" in about and f"Workspace: {app.session.settings.workspace_dir}" in about
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
    # F1 while typing in the prompt editor: the editor's and the pane's keys
    app.action_show_pane("prompt")
    await wait_for(pilot, lambda: app.focused is app.prompt_pane.query_one("#prompt-text"), what="editor")
    await pilot.press("f1")
    help_ = await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen, what="help")
    text = help_.plain()
    for section in ("Anywhere", "In a text field", "Prompt"):
        assert section in text.split("\n"), section
    assert "$VISUAL / $EDITOR" in text and "ctrl+s" in text and "Leave the text field" in text
    # every documented key the app has active here is in the help
    from convai_tui.tui.keyhelp import key_label

    screen = app.screen_stack[-2]
    for key, active in screen.active_bindings.items():
        ours = [b for cls in type(active.node).__mro__ if cls.__module__.startswith("convai_tui")
                for b in cls.__dict__.get("BINDINGS", [])]
        if active.binding.description and active.binding in ours:
            assert key_label(key) in text, key
    await pilot.press("f1")
    await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="F1 closes it again")


async def _keys_in_order(pilot, app) -> None:
    """Over SSH keystrokes arrive in one packet. A bound key (ctrl+End, Backspace) must act before
    the characters typed after it, as in any editor."""
    from textual import events

    app.action_show_pane("prompt")
    editor = app.prompt_pane.query_one("#prompt-text", TextArea)
    await wait_for(pilot, lambda: app.focused is editor, what="editor")
    before = editor.text
    editor.move_cursor((0, 0))
    burst = [("ctrl+end", None), ("enter", "\r"), *[(c, c) for c in "ab"], ("backspace", "\x7f"), ("c", "c")]
    for key, char in burst:
        app.post_message(events.Key(key, char))  # all queued before the first is handled
    await wait_for(pilot, lambda: editor.text != before and editor.text.endswith("c"), what="the burst")
    assert editor.text == before + "\nac"
    llm = app.prompt_pane.query_one("#prompt-llm", Field)
    llm.focus()
    await wait_for(pilot, lambda: app.focused is llm, what="llm")
    value = llm.value
    for key, char in [("home", None), ("x", "x"), ("end", None), ("y", "y")]:
        app.post_message(events.Key(key, char))
    await wait_for(pilot, lambda: llm.value.endswith("y"), what="the burst in the input")
    assert llm.value == "x" + value + "y"


async def test_keys_in_the_app_at_80x24():
    """One app session (each start costs seconds): the keys from every widget, Esc, undo, order, help."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, "agent_dental_bella")
        for step in (_from_every_widget, _esc_leaves_a_field, _undo_in_inputs, _keys_in_order, _help):
            await step(pilot, app)
