"""The one-row status line under each pane."""

from __future__ import annotations

from typing import Any

from textual.visual import VisualType
from textual.widgets import Label


class StatusLine(Label):
    """A status line (``.status`` in app.tcss: one row, the pane's width). Whatever it says, its
    size stays the same, so an update needs no layout pass; ``Label.update`` asks for one, and
    that reflows the whole screen: per page loaded, per test-run poll, ten times a second while
    a simulation streams, per keystroke in the prompt editor."""

    def __init__(self, content: VisualType = "", **kw: Any) -> None:
        kw["classes"] = " ".join(filter(None, ["status", kw.get("classes")]))
        super().__init__(content, **kw)

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        super().update(content, layout=layout)
