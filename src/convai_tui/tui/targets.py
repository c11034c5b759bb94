"""Shared by the Simulation and Tests panes: a Select of run targets (remote, draft, branches)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Select

from ..services import RunTarget

if TYPE_CHECKING:
    from textual.widget import Widget


def fill_targets(select: Select, targets: list[tuple[str, RunTarget]]) -> None:
    select.set_options([(Text(label), str(i)) for i, (label, _) in enumerate(targets)])
    select.value = "0"


def pick_target(owner: "Widget", targets: list[tuple[str, RunTarget]], key: str) -> tuple[str, RunTarget]:
    """The chosen target; the local draft is read from the Prompt pane at this moment."""
    if key.isdigit() and int(key) < len(targets):
        label, t = targets[int(key)]
    else:
        label, t = "remote agent", RunTarget()
    if t.kind == "draft":
        t = RunTarget("draft", draft=owner.app.prompt_pane.current_draft(), label=t.label)  # type: ignore[attr-defined]
    return label, t
