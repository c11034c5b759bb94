"""The one console of the headless commands: data on stdout, progress and notes on stderr.

Every string printed here passes through :func:`convai_tui.textutil.safe` (or ``one_line``) first:
this is the boundary where text from the API meets the terminal, so an escape sequence, a BEL or a
forged newline in an agent's name, a transcript or an error message is shown, never obeyed.
``--json`` output stays exact JSON (control characters, C1 controls and lone surrogates escaped as
``\\uXXXX``, which is the same data). Colour comes from Rich: on a terminal (or with
``FORCE_COLOR``), never with ``NO_COLOR``.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

from rich.console import Console
from rich.text import Text

from .. import jsonutil
from ..textutil import one_line, safe


@dataclass(frozen=True)
class Styled:
    """A piece of API (or any) text with a style; sanitised when printed."""

    text: str
    style: str = ""
    single_line: bool = False


def styled(text: object, style: str = "", *, single_line: bool = False) -> Styled:
    return Styled("" if text is None else str(text), style, single_line)


Part = str | Styled

def json_text(obj: Any) -> str:
    return jsonutil.dumps(obj, indent=2)


def colour_wanted(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Rich would exit(1) itself; the runner decides (a quiet 141, as a program killed by SIGPIPE)."""
        raise BrokenPipeError


def _console(stream: TextIO) -> Console:
    on = colour_wanted(stream)
    return _Console(file=stream, force_terminal=on, color_system="standard" if on else None, highlight=False,
                   markup=False, emoji=False, soft_wrap=True, no_color=not on)


class Output:
    """Write through this, and only this, from a command."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self.out = _console(self._stdout)
        self.err = _console(self._stderr)

    @property
    def colour(self) -> bool:
        return self.out.color_system is not None

    @staticmethod
    def _text(parts: tuple[Part, ...], sep: str = "") -> Text:
        t = Text()
        for i, p in enumerate(parts):
            if i and sep:
                t.append(sep)
            if isinstance(p, Styled):
                t.append(one_line(p.text, 10**9) if p.single_line else safe(p.text), style=p.style or None)
            else:
                # our own separators keep their tabs (scripts cut -f them); everything else is sanitised
                t.append("\t".join(safe(x, tabs=0) for x in p.split("\t")))
        return t

    # ------------------------------------------------------------------ stdout
    def line(self, *parts: Part) -> None:
        """One line (or more, where the text has newlines) of data on stdout. Without colour (a pipe, a
        file, NO_COLOR) the sanitised text is written as it is: tabs stay tabs for ``cut -f``."""
        t = self._text(parts)
        if self.colour:
            self.out.print(t)
        else:
            self._stdout.write(t.plain + "\n")

    def rich(self, text: Text) -> None:
        """A Rich ``Text`` whose strings were sanitised by the caller (``safe``/``one_line``)."""
        self.out.print(text)

    def blank(self) -> None:
        self.out.print()

    @property
    def raw_stdout(self) -> TextIO:
        """For data that is already exact and terminal-safe (JSON lines from ``jsonutil``)."""
        return self._stdout

    def json(self, obj: Any) -> None:
        self._stdout.write(json_text(obj) + "\n")
        self._stdout.flush()

    # ------------------------------------------------------------------ stderr
    def note(self, *parts: Part) -> None:
        self.err.print(self._text(parts))

    def warn(self, message: str) -> None:
        self.err.print(self._text((styled("warning: ", "yellow"), message)))

    def error(self, message: str) -> None:
        self.err.print(self._text((styled("convai-tui: ", "bold red"), message)))

    @contextmanager
    def progress(self, what: str, total: int | None = None) -> Iterator["ProgressLine"]:
        """A live progress bar on stderr when it is a terminal; silent otherwise."""
        if not (hasattr(self._stderr, "isatty") and self._stderr.isatty()):
            yield ProgressLine(None, None)
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns += [TextColumn("{task.fields[status]}"), TimeElapsedColumn()]
        with Progress(*columns, console=self.err, transient=True) as p:
            task = p.add_task(safe(what), total=total, status="")
            yield ProgressLine(p, task)

    def flush(self) -> None:
        for s in (self._stdout, self._stderr):
            try:
                s.flush()
            except (OSError, ValueError):
                pass


class ProgressLine:
    def __init__(self, progress: Any, task: Any) -> None:
        self._p, self._task = progress, task

    def update(self, completed: int, status: str = "", total: int | None = None) -> None:
        if self._p is not None:
            self._p.update(self._task, completed=completed, status=safe(status),
                           **({"total": total} if total is not None else {}))
