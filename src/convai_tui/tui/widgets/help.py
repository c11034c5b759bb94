"""The key help (``?`` or F1): the keys of what has focus and the global ones, from the bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from .. import keyhelp
from .fields import is_text_widget

TERMINAL_NOTE = ("Esc, then a key, works in every terminal. alt+key is the same in one stroke where alt sends Esc: "
                 "tmux, GNU screen and most terminals do (macOS: set Option to act as Meta / Esc+). "
                 "Copies go through the terminal (OSC 52); in tmux they need `set -g set-clipboard on`.")


def help_sections(screen: Screen, focused: Widget | None) -> list[tuple[str, list[keyhelp.KeyRow]]]:
    """The sections for this screen and focus: Anywhere first, then the screen's and the focus chain's."""
    wanted = {"Anywhere"}
    nodes: list[object] = [screen]
    node = focused
    while node is not None and node is not screen:
        nodes.append(node)
        node = node.parent  # type: ignore[assignment]
    for n in nodes:
        for cls in type(n).__mro__:
            title = keyhelp.section_of(cls)
            if title:
                wanted.add(title)
    if not is_text_widget(focused):
        wanted.discard("In a text field")
    # what has focus first (the pane's or the screen's keys, then the text field's), the global ones last
    found = [(title, rows) for title, rows in keyhelp.sections() if title in wanted and rows]
    last = ("In a text field", "Anywhere")
    return [s for s in found if s[0] not in last] + sorted((s for s in found if s[0] in last),
                                                           key=lambda s: last.index(s[0]))


def help_text(sections: list[tuple[str, list[keyhelp.KeyRow]]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, expand=True, padding=(0, 1))
    table.add_column("keys", style="bold", min_width=8, max_width=14)
    table.add_column("what", ratio=1)
    first = True
    for title, rows in sections:
        if not first:
            table.add_row("", "")
        first = False
        table.add_row(Text(title, style="bold underline"), "")
        for r in rows:
            table.add_row(Text(r.label, style="bold cyan"), Text(r.description))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, screen: Screen, focused: Widget | None, about: list[str] | None = None) -> None:
        super().__init__()
        self.sections = help_sections(screen, focused)
        self.about = about or []  # the server and the workspace, whole (a narrow top bar shortens them)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="help") as d:
            d.border_title = "Keys"
            d.border_subtitle = "Esc: close"
            yield Static(help_text(self.sections), id="help-keys")
            yield Static(Text(TERMINAL_NOTE, style="dim"), id="help-note")
            if self.about:
                yield Static(Text("\n".join(self.about), style="dim"), id="help-about")

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def plain(self) -> str:
        """What the help says, as text (tests)."""
        lines = []
        for title, rows in self.sections:
            lines.append(title)
            lines.extend(f"  {r.label}  {r.description}" for r in rows)
        return "\n".join(lines)
