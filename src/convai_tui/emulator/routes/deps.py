"""What every router shares: the state (a FastAPI dependency), lookups that 404, cursors that 422."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from ..agents import AgentRecord, Branch, Version
from ..errors import invalid, not_found
from ..history import Conv
from ..runs import Invocation
from ..state import BadCursor, EmulatorState, decode_cursor, encode_cursor


def get_state(request: Request) -> EmulatorState:
    return request.app.state.emulator  # type: ignore[no-any-return]


State = Annotated[EmulatorState, Depends(get_state)]


def agent_or_404(st: EmulatorState, agent_id: str) -> AgentRecord:
    rec = st.agents.get(agent_id)
    if rec is None:
        raise not_found("agent", agent_id)
    return rec


def branch_or_404(rec: AgentRecord, branch_id: str | None) -> Branch:
    br = rec.branch(branch_id)
    if br is None:
        raise not_found("branch", branch_id or "")
    return br


def version_or_404(rec: AgentRecord, version_id: str) -> Version:
    v = rec.version(version_id)
    if v is None:
        raise not_found("version", version_id)
    return v


def conv_or_404(st: EmulatorState, conversation_id: str) -> Conv:
    c = st.conv_by_id.get(conversation_id)
    if c is None or c.deleted:
        raise not_found("conversation", conversation_id)
    return c


def test_or_404(st: EmulatorState, test_id: str) -> dict[str, Any]:
    t = st.tests.get(test_id)
    if t is None:
        raise not_found("test", test_id)
    return t


def invocation_or_404(st: EmulatorState, invocation_id: str) -> Invocation:
    inv = st.invocations.get(invocation_id)
    if inv is None:
        raise not_found("test_invocation", invocation_id)
    return inv


def offset_from(cursor: str | None) -> int:
    """The offset an offset cursor encodes; 422 for a cursor this server did not hand out."""
    if cursor is None:
        return 0
    try:
        value = decode_cursor(cursor)
    except BadCursor:
        value = None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid(["query", "cursor"], "Invalid cursor: pass the next_cursor of a previous page.")
    return value


def page(items: list[Any], cursor: str | None, page_size: int) -> tuple[list[Any], str | None]:
    start = offset_from(cursor)
    chunk = items[start:start + page_size]
    more = start + page_size < len(items)
    return chunk, (encode_cursor(start + page_size) if more else None)
