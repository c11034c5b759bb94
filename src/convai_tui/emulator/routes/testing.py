"""Agent tests (agent-testing): create, list, get, update, delete, summaries by id."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query

from ..errors import invalid
from ..runs import test_public, test_summary
from .bodies import TestBody, TestIds
from .deps import State, page, test_or_404

router = APIRouter(prefix="/v1/convai/agent-testing", tags=["agent-testing"])


def _check(body: TestBody) -> dict[str, Any]:
    """The stored form of a test; 422 for a body its type cannot run."""
    t = body.type
    if t == "llm" and not body.success_condition:
        raise invalid(["body", "success_condition"], "An llm test needs a success_condition.")
    if t == "tool":
        ref = (body.tool_call_parameters or {}).get("referenced_tool")
        if not (isinstance(ref, dict) and isinstance(ref.get("id"), str) and ref["id"]):
            raise invalid(["body", "tool_call_parameters", "referenced_tool"],
                          "A tool test needs tool_call_parameters.referenced_tool.id.")
        params = (body.tool_call_parameters or {}).get("parameters") or []
        if not isinstance(params, list) or not all(isinstance(p, dict) and isinstance(p.get("path", ""), str)
                                                   and isinstance(p.get("eval") or {}, dict) for p in params):
            raise invalid(["body", "tool_call_parameters", "parameters"], "Each parameter needs a path and an eval.")
    if t == "simulation" and not (body.simulation_scenario or "").strip():
        raise invalid(["body", "simulation_scenario"], "A simulation test needs a simulation_scenario.")
    for name, mocks in (body.tool_mock_overrides or {}).items():
        if mocks and not isinstance(mocks[0].get("mock_result", ""), str):
            raise invalid(["body", "tool_mock_overrides", name, 0, "mock_result"], "mock_result must be a string.")
    return body.set_fields()


@router.post("/create")
async def create_test(st: State, body: TestBody) -> Any:
    stored = _check(body)
    tid = f"test_{uuid.uuid4().hex[:20]}"
    now = int(time.time())
    with st.lock:
        st.tests[tid] = {"id": tid, **stored, "type": body.type, "created_at_unix_secs": now,
                         "last_updated_at_unix_secs": now}
    return {"id": tid}


@router.get("")
async def list_tests(st: State, cursor: str | None = None, page_size: int = Query(30, ge=1, le=100),
                     search: str | None = None, parent_folder_id: str | None = None,
                     types: list[Literal["llm", "tool", "simulation", "folder"]] | None = Query(None),
                     include_folders: bool | None = None,
                     sort_mode: Literal["default", "folders_first"] = "default",
                     sharing_mode: Literal["all", "shared_with_me"] = "all") -> Any:
    items = sorted(st.tests.values(), key=lambda t: (t["created_at_unix_secs"], t["id"]))
    if search:
        items = [t for t in items if search.lower() in t["name"].lower()]
    if types:
        items = [t for t in items if t.get("type", "llm") in types]
    if parent_folder_id not in (None, "root"):
        items = []  # every test lives in the root folder
    if sharing_mode == "shared_with_me":
        items = []  # the demo user created every test
    chunk, nxt = page(items, cursor, page_size)
    return {"tests": [test_summary(t) for t in chunk], "has_more": nxt is not None, "next_cursor": nxt}


@router.post("/summaries")
async def test_summaries(st: State, body: TestIds) -> Any:
    if len(set(body.test_ids)) != len(body.test_ids):
        raise invalid(["body", "test_ids"], "Duplicate test ids.")
    return {"tests": {i: test_summary(st.tests[i]) for i in body.test_ids if i in st.tests}}


@router.get("/{test_id}")
async def get_test(st: State, test_id: str) -> Any:
    return test_public(test_or_404(st, test_id))


@router.put("/{test_id}")
async def update_test(st: State, test_id: str, body: TestBody) -> Any:
    old = test_or_404(st, test_id)
    stored = _check(body)
    with st.lock:
        new = {"id": test_id, **stored, "type": body.type, "created_at_unix_secs": old["created_at_unix_secs"],
               "last_updated_at_unix_secs": int(time.time())}
        st.tests[test_id] = new
    return test_public(new)


@router.delete("/{test_id}")
async def delete_test(st: State, test_id: str) -> Any:
    test_or_404(st, test_id)
    with st.lock:
        del st.tests[test_id]
    return {}
