"""Run-target choices for the Simulation and Tests panes (and A/B): remote main, the editor's draft,
branches and saved versions. A choice is resolved when a run starts, so the draft is what the editor
holds at that moment and the run names it with its content hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual.widgets import Select

from ...services.targets import RunTarget


@dataclass(frozen=True)
class TargetChoice:
    label: str
    key: str
    resolve: Callable[[], RunTarget]
    kind: str = "remote"


def fill_targets(select: Select, choices: list[TargetChoice], value: str | None = None) -> None:
    select.set_options([(Text(c.label), c.key) for c in choices])
    keys = [c.key for c in choices]
    select.value = value if value in keys else keys[0]


def choice_for(choices: list[TargetChoice], key: object) -> TargetChoice:
    for c in choices:
        if c.key == key:
            return c
    raise LookupError(f"no run target {key!r}")
