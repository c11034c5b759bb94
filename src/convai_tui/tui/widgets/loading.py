"""End a widget's loading state so that its keys show."""

from __future__ import annotations

from textual.widget import Widget


def loaded(widget: Widget) -> None:
    """``widget.loading = False``, and the footer told. Textual leaves a focused widget's keys out
    while it loads, and nothing refreshes the footer when loading ends: a prompt editor that had
    focus before its prompt arrived showed none of its keys (not even Esc) until focus moved."""
    was_loading = widget.loading
    widget.loading = False
    if was_loading and widget.is_attached and widget.screen.focused is widget:
        widget.screen.refresh_bindings()  # (only then: it recomposes the footer)
