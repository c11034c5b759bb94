"""simulate-conversation and its stream (deprecated upstream; ``--no-legacy-simulate`` answers 410).

Stream framing: ``application/x-ndjson``, one JSON value per line; each line but the last is a JSON
**array** of new turns, the last line is one JSON **object** ``{"simulated_conversation": [...],
"analysis": {...}}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..brain import analyse
from ..errors import APIError
from .bodies import Simulate
from .deps import State, agent_or_404

MAX_TURNS = 10_000  # the document's default new_turns_limit; more is not simulated


def served(st: State) -> None:
    """A server without the legacy endpoints answers 410 whatever the body (checked before it)."""
    if not st.config.legacy_simulate:
        raise APIError(410, {"status": "endpoint_removed",
                             "message": "simulate-conversation was removed; use agent-testing simulation tests "
                                        "with run-tests."})


router = APIRouter(prefix="/v1/convai/agents/{agent_id}", tags=["simulation"], dependencies=[Depends(served)])


def _setup(st: Any, agent_id: str, body: Simulate) -> Any:
    rec = agent_or_404(st, agent_id)
    spec = body.simulation_specification.set_fields()
    extra = [c.set_fields() for c in body.extra_evaluation_criteria or []]
    limit = max(1, min(MAX_TURNS, body.new_turns_limit))
    return st.run_simulation(rec, spec, extra, limit), extra


@router.post("/simulate-conversation")
async def simulate(st: State, agent_id: str, body: Simulate) -> Any:
    sim, extra = _setup(st, agent_id, body)
    turns = list(sim.turns())
    an = analyse(sim.agent, turns, extra_criteria=extra, ended_naturally=sim.ended_naturally,
                 tool_errors=sim.tool_errors)
    return JSONResponse({"simulated_conversation": [t.to_wire() for t in turns], "analysis": an.to_wire()})


@router.post("/simulate-conversation/stream")
async def simulate_stream(st: State, agent_id: str, body: Simulate, request: Request) -> Any:
    sim, extra = _setup(st, agent_id, body)
    delay = st.config.stream_delay_ms / 1000
    fault = getattr(request.state, "fault", None)
    cut_at = fault.after_events if fault is not None and fault.kind in ("cut", "malformed") else None

    async def lines() -> AsyncIterator[bytes]:
        turns = []
        batch: list[dict[str, Any]] = []
        last_flush = time.monotonic()
        for t in sim.turns():
            turns.append(t)
            if delay:
                await asyncio.sleep(delay)
                yield (json.dumps([t.to_wire()], ensure_ascii=False) + "\n").encode()
            else:
                # no delay: batch turns (still in several chunks) and let the loop breathe
                batch.append(t.to_wire())
                if len(batch) >= 50 or time.monotonic() - last_flush > 0.02:
                    yield (json.dumps(batch, ensure_ascii=False) + "\n").encode()
                    batch = []
                    last_flush = time.monotonic()
                    await asyncio.sleep(0)
        if batch:
            yield (json.dumps(batch, ensure_ascii=False) + "\n").encode()
        an = analyse(sim.agent, turns, extra_criteria=extra, ended_naturally=sim.ended_naturally,
                     tool_errors=sim.tool_errors)
        final = {"simulated_conversation": [t.to_wire() for t in turns], "analysis": an.to_wire()}
        yield (json.dumps(final, ensure_ascii=False) + "\n").encode()

    async def gen() -> AsyncIterator[bytes]:
        n = 0
        async for line in lines():
            if cut_at is not None and n >= cut_at:
                if fault.kind == "malformed":
                    yield b'[{"role": "agent", "message": "trunc'
                    yield b'}}]\n'
                raise ConnectionAbortedError("emulator fault: stream cut")
            n += 1
            yield line

    return StreamingResponse(gen(), media_type="application/x-ndjson")
