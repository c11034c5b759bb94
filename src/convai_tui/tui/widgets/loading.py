"""End a widget's loading state so that its keys show."""

from __future__ import annotations

from textual.widget import Widget


def loaded(widget: Widget) -> None:
    """``widget.loading = False``, and the footer told. Textual leaves a focused widget's keys out
    while it loads, and nothing refreshes the footer when loading ends: a prompt editor that had
    focus before its prompt arrived showed none of its keys (not even Esc) until focus moved."""
    widget.loading = False
    if widget.is_attached:
        widget.screen.refresh_bindings()
