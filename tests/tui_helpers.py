"""Helpers for driving the TUI with Pilot against an in-process emulator."""

from __future__ import annotations

import time
from typing import Any, Callable

from convai_tui.services import Backend
from convai_tui.tui.app import ConvaiApp

FAST = {"stream_delay_ms": 5, "test_delay_ms": 300, "conversations": 400}


def make_app(**emulator: Any) -> ConvaiApp:
    opts = {**FAST, **emulator}
    return ConvaiApp(Backend(demo=True, emulator_options=opts))


async def wait_for(pilot, cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
        except Exception:
            value = None
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def ready(pilot, agent_id: str | None = None) -> ConvaiApp:
    """Wait until the agent is loaded and every pane has its data."""
    app: ConvaiApp = pilot.app
    if agent_id:
        await wait_for(pilot, lambda: app.agent is not None, what="first agent")
        app.main.query_one("#agent-select").value = agent_id
        await wait_for(pilot, lambda: app.agent and app.agent.agent_id == agent_id, what="agent switch")
    await wait_for(pilot, lambda: app.agent is not None and app.conversations_pane.table.row_count > 0
                   and not app.conversations_pane.loading and app.tests_pane.tests
                   and not app.tests_pane.grid.loading, what="panes loaded")
    await pilot.pause(0.1)
    return app


def log_text(app: ConvaiApp, lane: str = "a") -> str:
    log = app.main.query_one(f"#sim-log-{lane}")
    return "\n".join(line.text for line in log.lines)


def status(app: ConvaiApp, wid: str) -> str:
    return str(app.main.query_one(wid).render())
