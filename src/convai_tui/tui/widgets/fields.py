"""Text fields that behave the same in every terminal.

* **Esc leaves the field** and touches nothing: no text is selected, altered or replaced. Focus goes
  to the field's *home*: the nearest ancestor that offers one (``focus_home()``, each pane does),
  where the single-key commands work (``1``-``4``, ``?``, ``z``, a pane's letters). In a dialog (no
  home) Esc goes on to the dialog, which closes.
* **alt+key is Esc, then key.** tmux, GNU screen and xterm (with metaSendsEscape) send alt+3 as the
  bytes ESC 3; the parser may see them together (alt+3) or, when they arrive apart, as Esc then 3.
  Both mean the same thing here, so it never matters which. (Unbound, a Textual text widget would
  type the letter of an alt+letter.)
* **Undo and redo in one-line inputs** (``ctrl+z``/``ctrl+y``), as the prompt editor has.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input, TextArea


@runtime_checkable
class FocusHome(Protocol):
    def focus_home(self) -> Widget | None: ...


def find_home(widget: Widget) -> Widget | None:
    """The widget Esc should move focus to: the nearest ancestor's ``focus_home()``."""
    for node in widget.ancestors:
        if isinstance(node, FocusHome):
            home = node.focus_home()
            if home is not None and home is not widget:
                return home
    return None


def plain_key(event: events.Key) -> events.Key | None:
    """For alt+<a character>: the key without alt (alt+3 -> 3, alt+question_mark -> ?). Else None."""
    if not event.key.startswith("alt+") or not event.character or len(event.character) != 1 \
            or not event.character.isprintable():
        return None
    return events.Key(event.key.removeprefix("alt+"), event.character)


def leave_field(field: Widget, event: events.Key) -> bool:
    """Esc or alt+key in a text field: move focus home (now, not in a later message: the next key
    may already be on its way) and replay alt+key's key there. False when there is no home."""
    replay = None
    if event.key != "escape":
        replay = plain_key(event)
        if replay is None:
            return False
    home = find_home(field)
    if home is None:
        # In a dialog: alt+key types nothing; Esc goes on to the dialog (which closes), without the
        # text widget's own Esc handling (a TextArea would move focus and select the next input).
        event.prevent_default()
        if replay is not None:
            event.stop()
        return False
    event.stop()
    event.prevent_default()
    field.screen.set_focus(home)  # at once: a key already on its way must find the focus moved
    if replay is not None:
        home.post_message(replay)  # handled as if typed there: its bindings, then the pane's, the screen's
    return True


# Esc is handled before the field sees the key (field_key): this binding shows it in the footer
# and the help, and is hidden where there is no home to go to (a dialog: Esc closes it there).
LEAVE = Binding("escape", "leave_field", "Leave field", tooltip="Leave the text field (nothing is selected or changed)")


class _FieldKeys:
    """What Field and TextEditor share (their BINDINGS stay in the widget classes, where Textual
    merges them)."""

    async def _on_key(self, event: events.Key) -> None:
        await field_key(self, event)  # type: ignore[arg-type]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return find_home(self) is not None if action == "leave_field" else True  # type: ignore[arg-type]

    def action_leave_field(self) -> None:
        home = find_home(self)  # type: ignore[arg-type]
        if home is None:
            raise SkipAction()
        home.focus()


class Field(_FieldKeys, Input):
    """A one-line input: Esc/alt as above, nothing selected on focus, undo/redo."""

    BINDINGS = [
        LEAVE,
        Binding("ctrl+z", "undo", "Undo", show=False),
        Binding("ctrl+y,ctrl+shift+z", "redo", "Redo", show=False),
    ]
    HISTORY = 200

    def __init__(self, value: str | None = None, *args: Any, **kw: Any) -> None:
        kw.setdefault("select_on_focus", False)
        self._undo: list[str] = []
        self._redo: list[str] = []
        self._typing_at: int | None = None  # where the next typed character continues a word
        self._restoring = True  # the initial value is where undo stops
        super().__init__(value, *args, **kw)
        self._restoring = False

    def on_mount(self) -> None:
        self._undo.clear()  # nothing before the value the field was made with

    def load(self, value: str) -> None:
        """Set the value as a new starting point (no undo back past it)."""
        self._restore(value)
        self._undo.clear()
        self._redo.clear()

    @staticmethod
    def _changed_span(old: str, new: str) -> tuple[int, int]:
        """Where ``new`` differs from ``old``: (start, end) in ``new``."""
        n = min(len(old), len(new))
        start = 0
        while start < n and old[start] == new[start]:
            start += 1
        suffix = 0
        while suffix < n - start and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        return start, len(new) - suffix

    def watch_value(self, old: str, new: str) -> None:
        if self._restoring or old == new:
            return
        start, end = self._changed_span(old, new)
        typed = len(new) == len(old) + 1 and end == start + 1 and not new[start].isspace()
        if not (typed and self._typing_at == start and self._undo):
            self._undo.append(old)  # a word typed in one go is one step
            del self._undo[:-self.HISTORY]
        self._typing_at = end if typed else None
        self._redo.clear()

    def _restore(self, value: str) -> None:
        old = self.value
        self._restoring = True
        try:
            self.value = value
            self.cursor_position = self._changed_span(old, value)[1]  # after what came back
        finally:
            self._restoring = False
        self._typing_at = None

    def action_undo(self) -> None:
        if self._undo:
            self._redo.append(self.value)
            self._restore(self._undo.pop())

    def action_redo(self) -> None:
        if self._redo:
            self._undo.append(self.value)
            self._restore(self._redo.pop())


class TextEditor(_FieldKeys, TextArea):
    """A multi-line text area with the same Esc and alt behaviour (Textual's TextArea moves focus to
    the next widget on Esc, which selected all of the next input's text)."""

    BINDINGS = [
        LEAVE,
        Binding("ctrl+z", "undo", "Undo", show=False),
        Binding("ctrl+y", "redo", "Redo", show=False),
    ]


async def field_key(field: Widget, event: events.Key) -> None:
    """Before a text widget handles a key, in the order the keys came:

    * a key that arrives after focus has moved on (Esc then 3, faster than the app reads them) goes
      where the focus is now;
    * Esc and alt+key leave the field (above);
    * the field's own bindings run now. Left to Textual, a bound key (End, ctrl+End, Backspace, the
      arrows) bubbles up to the app before its action runs, while the keys behind it are typed at
      once: over SSH, where keystrokes arrive together, ``ctrl+End Enter x`` inserted the line at
      the top and ``ab<Backspace>c`` deleted the c."""
    focused = field.app.focused
    if focused is not None and focused is not field:
        event.stop()
        event.prevent_default()
        focused.post_message(events.Key(event.key, event.character))
        return
    if (event.key == "escape" or event.key.startswith("alt+")) and leave_field(field, event):
        return
    if event.is_printable:
        return
    for binding in field._bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await field.app.run_action(binding.action, field):
            event.stop()
            event.prevent_default()
            return


TEXT_WIDGETS = (Input, TextArea)


def is_text_widget(widget: Widget | None) -> bool:
    return isinstance(widget, TEXT_WIDGETS)
