"""Helpers for driving the TUI with Pilot against an in-process emulator."""

from __future__ import annotations

from convai_tui.tui.app import ConvaiApp
from showcase import app_for, make_app, ready, wait_for  # noqa: F401  (re-exported for the tests)


def log_text(app: ConvaiApp, lane: str = "a") -> str:
    return app.simulation_pane.lane_text(lane)


def status(app: ConvaiApp, wid: str) -> str:
    return str(app.main.query_one(wid).render())


async def save_version(pilot, message: str = "") -> None:
    """ctrl+s, then the optional message and Enter in the save dialog."""
    from convai_tui.tui.prompt.save import SaveVersionScreen

    app = pilot.app
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, SaveVersionScreen)
                   and app.screen.query_one("#save-message").has_focus, what="the save dialog")
    await pilot.press(*message, "enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, SaveVersionScreen), what="the save dialog closed")
