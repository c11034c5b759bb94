"""Helpers shared by the tests (import as ``from helpers import ...``)."""

from __future__ import annotations

import httpx

from convai_tui.api.client import ConvAIClient
from convai_tui.emulator.server import EmulatorServer


def add_fault(srv: EmulatorServer, **fault) -> None:
    r = httpx.post(f"{srv.base_url}/_emulator/faults", json=fault)
    r.raise_for_status()


def fast_client(srv: EmulatorServer, **kw) -> ConvAIClient:
    """A client whose backoff sleeps are tiny (the retry logic still runs for real)."""
    c = ConvAIClient(srv.api_key, base_url=srv.base_url, backoff_base=0.01, **kw)
    return c
