"""Helpers for driving the TUI with Pilot against an in-process emulator."""

from __future__ import annotations

from convai_tui.tui.app import ConvaiApp
from convai_tui.tui.showcase import make_app, ready, wait_for  # noqa: F401  (re-exported for the tests)


def log_text(app: ConvaiApp, lane: str = "a") -> str:
    log = app.main.query_one(f"#sim-log-{lane}")
    return "\n".join(line.text for line in log.lines)


def status(app: ConvaiApp, wid: str) -> str:
    return str(app.main.query_one(wid).render())
