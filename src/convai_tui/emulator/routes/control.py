"""The emulator's own endpoints (not the ConvAI API): ``/health`` and ``/_emulator/*`` (faults,
request counters). They need no key, and strict mode leaves them alone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..errors import invalid
from ..faults import Fault
from .deps import State

router = APIRouter(tags=["control"])


@router.get("/health")
async def health(st: State) -> dict[str, Any]:
    return {"status": "ok", "agents": len(st.agents), "conversations": len(st.convs),
            "strict": st.config.strict, "drift": st.config.drift}


@router.get("/_emulator/faults")
async def list_faults(st: State) -> Any:
    return {"faults": st.faults.list(), "fired": st.faults.fired, "seen": st.faults.seen}


@router.post("/_emulator/faults")
async def add_fault(st: State, request: Request) -> Any:
    try:
        body = await request.json()
    except ValueError:
        raise invalid(["body"], "The body must be a JSON object of fault options.") from None
    if not isinstance(body, dict):
        raise invalid(["body"], "The body must be a JSON object of fault options.")
    try:
        st.faults.add(Fault.from_dict(body))
    except (ValueError, TypeError) as exc:
        raise invalid(["body"], str(exc)) from None
    return {"faults": st.faults.list()}


@router.delete("/_emulator/faults")
async def clear_faults(st: State) -> Any:
    st.faults.clear()
    return {"faults": []}


@router.get("/_emulator/stats")
async def stats(request: Request) -> Any:
    """Requests seen, in flight now, the most in flight at once, and those turned away with 429."""
    return dict(request.app.state.counters)
