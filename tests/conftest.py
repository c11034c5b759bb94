"""Shared fixtures: a real emulator on a loopback port, and real clients for it."""

from __future__ import annotations

import os

import httpx
import pytest

from convai_tui.api.client import ConvAIClient
from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig

# Never let a developer's real key or base URL leak into the tests.
os.environ.pop("ELEVENLABS_API_KEY", None)
os.environ.pop("ELEVENLABS_BASE_URL", None)


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the session: short delays so tests are quick but still async."""
    cfg = EmulatorConfig(stream_delay_ms=20, test_delay_ms=300)
    with EmulatorServer(cfg) as srv:
        yield srv


@pytest.fixture()
def fresh_emulator():
    """A private emulator for tests that change state or inject faults."""
    cfg = EmulatorConfig(stream_delay_ms=5, test_delay_ms=200, conversations=300)
    with EmulatorServer(cfg) as srv:
        yield srv


@pytest.fixture()
async def client(emulator):
    async with ConvAIClient(emulator.api_key, base_url=emulator.base_url) as c:
        yield c
