"""Helpers for driving the TUI with Pilot against an in-process emulator."""

from __future__ import annotations

from convai_tui.tui.app import ConvaiApp
from showcase import app_for, make_app, ready, wait_for  # noqa: F401  (re-exported for the tests)


def log_text(app: ConvaiApp, lane: str = "a") -> str:
    return app.simulation_pane.lane_text(lane)


def status(app: ConvaiApp, wid: str) -> str:
    return str(app.main.query_one(wid).render())
