"""The keys, from the bindings: the help screen (``?``/F1) and the README's key table are both made
here from the classes' ``BINDINGS``, so neither can drift from what the keys really do.

``python -m convai_tui.tui.keyhelp`` prints the README's table (``--write README.md`` replaces it
between its markers); ``tests/test_keys.py`` fails when the README and the bindings differ.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding

# (section title, classes by "module:Class"), in the order the help and the README show them.
SECTIONS: list[tuple[str, list[str]]] = [
    ("Anywhere", ["convai_tui.tui.app:MainScreen", "convai_tui.tui.app:ConvaiApp"]),
    ("In a text field", ["convai_tui.tui.widgets.fields:Field", "convai_tui.tui.widgets.fields:TextEditor"]),
    ("Conversations", ["convai_tui.tui.conversations.pane:ConversationsPane",
                       "convai_tui.tui.widgets.vtable:VirtualTable"]),
    ("Prompt", ["convai_tui.tui.prompt.pane:PromptPane", "convai_tui.tui.prompt.pane:PromptEditor"]),
    ("Simulation", ["convai_tui.tui.simulation.pane:SimulationPane"]),
    ("Tests", ["convai_tui.tui.tests.pane:TestsPane", "convai_tui.tui.widgets.rungrid:RunGrid"]),
    ("Transcript", ["convai_tui.tui.conversations.transcript:TranscriptScreen",
                    "convai_tui.tui.widgets.transcript_view:TranscriptView"]),
    ("Diff", ["convai_tui.tui.prompt.diff:DiffScreen", "convai_tui.tui.widgets.diffview:DiffView"]),
    ("Test run details", ["convai_tui.tui.tests.run_detail:RunDetailScreen"]),
    ("Run history", ["convai_tui.tui.runs.history:HistoryScreen"]),
    ("A recorded run", ["convai_tui.tui.runs.run_view:RunScreen"]),
    ("Two runs compared", ["convai_tui.tui.runs.compare:CompareScreen"]),
    ("Test x version matrix", ["convai_tui.tui.runs.matrix:MatrixScreen", "convai_tui.tui.widgets.matrixview:MatrixView"]),
    ("Without an API key", ["convai_tui.tui.no_key:NoKeyScreen"]),
]

# What is not a binding of its own but a rule every key follows (shown with "Anywhere").
RULES: list[tuple[str, str]] = [
    ("alt+key", "The same as Esc, then the key: works while typing, in tmux, GNU screen and over SSH "
                "(they send alt+3 as Esc 3)"),
    ("ctrl+p", "The command palette: every action by name, and the themes"),
]

_NAMES = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "equals_sign": "=", "escape": "Esc",
          "enter": "Enter", "space": "Space", "up": "↑", "down": "↓", "left": "←", "right": "→",
          "pageup": "PgUp", "pagedown": "PgDn", "home": "Home", "end": "End", "tab": "Tab", "delete": "Del",
          "backspace": "Backspace"}


def key_label(key: str) -> str:
    """How a key is written in the help and the README: ``ctrl+s``, ``alt+1``, ``F3``, ``?``, ``Esc``."""
    *mods, base = key.split("+")
    if base in _NAMES:
        base = _NAMES[base]
    elif len(base) > 1 and base[0] == "f" and base[1:].isdigit():
        base = base.upper()
    return "+".join([*mods, base])


@dataclass(frozen=True)
class KeyRow:
    keys: tuple[str, ...]
    description: str

    @property
    def label(self) -> str:
        return " ".join(key_label(k) for k in self.keys)


def rows_of(bindings: list[Binding | tuple[str, ...]]) -> list[KeyRow]:
    """One row per action (its keys together), for the bindings that have a description."""
    order: list[str] = []
    keys: dict[str, list[str]] = {}
    text: dict[str, str] = {}
    for b in bindings:
        if not isinstance(b, Binding):
            b = Binding(*b)
        desc = b.tooltip or b.description
        if not desc:
            continue
        if b.action not in keys:
            order.append(b.action)
            keys[b.action] = []
            text[b.action] = desc
        for k in b.key.split(","):
            k = k.strip()
            if k and k not in keys[b.action]:
                keys[b.action].append(k)
    return [KeyRow(tuple(keys[a]), text[a]) for a in order]


def load(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def class_rows(cls: type) -> list[KeyRow]:
    """The documented keys a class declares itself (not those it inherits from Textual)."""
    return rows_of(list(cls.__dict__.get("BINDINGS", [])))


def section_of(cls: type) -> str | None:
    name = f"{cls.__module__}:{cls.__qualname__}"
    return next((title for title, classes in SECTIONS if name in classes), None)


def _merge(rows: list[KeyRow]) -> list[KeyRow]:
    """Rows saying the same thing become one (a key bound alike in two classes is listed once)."""
    merged: dict[str, list[str]] = {}
    for r in rows:
        keys = merged.setdefault(r.description, [])
        keys.extend(k for k in r.keys if k not in keys)
    return [KeyRow(tuple(keys), d) for d, keys in merged.items()]


def sections() -> list[tuple[str, list[KeyRow]]]:
    """Every section with its rows (the README's table)."""
    out = []
    for title, classes in SECTIONS:
        rows = [r for c in classes for r in class_rows(load(c))]
        if title == "Anywhere":
            rows += [KeyRow((k,), d) for k, d in RULES]
        out.append((title, _merge(rows)))
    return out


def markdown() -> str:
    lines = ["| where | keys | what they do |", "|---|---|---|"]
    for title, rows in sections():
        for i, r in enumerate(rows):
            keys = " ".join(f"`{key_label(k)}`" for k in r.keys)
            lines.append(f"| {f'**{title}**' if i == 0 else ''} | {keys} | {r.description} |")
    return "\n".join(lines)


START, END = "<!-- keys: generated by python -m convai_tui.tui.keyhelp --write README.md -->", "<!-- /keys -->"


def readme_block(readme: str) -> str:
    a = readme.index(START) + len(START)
    return readme[a:readme.index(END, a)].strip("\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    table = markdown()
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        text = path.read_text(encoding="utf-8")
        a = text.index(START) + len(START)
        b = text.index(END, a)
        path.write_text(text[:a] + "\n" + table + "\n" + text[b:], encoding="utf-8")
        print(f"wrote the key table into {path}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
