"""Drive every operation of the published API against an emulator, successes and errors, walking
every list to its end and fetching every seeded conversation, test, invocation and version.

``walk()`` returns the exchanges (operation, status, JSON body); the conformance tests validate them
against the document (test_spec_conformance.py) and the official SDK's types (test_sdk_conformance.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from convai_tui.emulator import openapi as O

BELLA, SANITAS, ACME = "agent_dental_bella", "agent_sanitas_ro", "agent_acme_support"


@dataclass
class Exchange:
    op: O.Operation
    method: str
    path: str
    status: int
    body: Any
    lines: list[Any] = field(default_factory=list)  # an NDJSON stream's values


class Walker:
    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"xi-api-key": key}, timeout=120)
        self.log: list[Exchange] = []

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, expect: int | tuple[int, ...] | None = 200, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        op = O.match(method, path)
        assert op is not None, f"not an operation of the document: {method} {path}"
        lines: list[Any] = []
        if r.headers.get("content-type", "").startswith("application/x-ndjson"):
            lines = [json.loads(ln) for ln in r.text.splitlines() if ln.strip()]
            body = None
        else:
            body = r.json()  # every answer is JSON, errors included
        self.log.append(Exchange(op, method, path, r.status_code, body, lines))
        if expect is not None:
            ok = (expect,) if isinstance(expect, int) else expect
            assert r.status_code in ok, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return body

    def pages(self, path: str, items: str, page_size: int, **params: Any) -> list[Any]:
        out: list[Any] = []
        cursor = None
        while True:
            q = {**params, "page_size": page_size, **({"cursor": cursor} if cursor else {})}
            body = self.call("GET", path, params=q)
            out.extend(body[items])
            if not body["has_more"]:
                return out
            cursor = body["next_cursor"]


def walk(base_url: str, key: str, *, conversation_details: bool = True) -> list[Exchange]:
    w = Walker(base_url, key)
    try:
        _agents(w)
        _branches(w)
        _simulation(w)
        _tests_and_runs(w)
        _conversations(w, details=conversation_details)
        w.call("GET", "/v1/convai/agents", expect=401, headers={"xi-api-key": "wrong"})
        return w.log
    finally:
        w.close()


def _agents(w: Walker) -> None:
    A = "/v1/convai/agents"
    agents = w.pages(A, "agents", 1)
    assert {a["agent_id"] for a in agents} == {BELLA, SANITAS, ACME}
    for q in ({"search": "bella"}, {"sort_by": "created_at", "sort_direction": "asc"}, {"sort_by": "call_count_7d"},
              {"tags": ["dental", "support"]}, {"archived": "true"}):
        w.call("GET", A, params=q)
    for q in ({"cursor": "null"}, {"page_size": 0}, {"sort_by": "nope"}):
        w.call("GET", A, params=q, expect=422)
    for a in agents:
        agent = w.call("GET", f"{A}/{a['agent_id']}")
        for b in w.call("GET", f"{A}/{a['agent_id']}/branches", params={"include_archived": "true"})["results"]:
            w.call("GET", f"{A}/{a['agent_id']}", params={"branch_id": b["id"]})
        assert agent["version_id"]
    w.call("GET", f"{A}/agent_nope", expect=404)
    w.call("GET", f"{A}/{BELLA}", params={"branch_id": "agtbrch_nope"}, expect=404)
    w.call("GET", f"{A}/{BELLA}", params={"version_id": "agtvrsn_nope"}, expect=404)
    w.call("PATCH", f"{A}/{BELLA}", json={"conversation_config": {"agent": {"prompt": {
        "prompt": "You are the friendly receptionist of Bella Dental.\nBe polite."}}}, "version_description": "walk"})
    w.call("PATCH", f"{A}/{BELLA}", params={"branch_id": "agtbrch_bella_confirm"},
           json={"platform_settings": {"evaluation": {"criteria": [
               {"id": "polite", "name": "Polite", "conversation_goal_prompt": "The agent is polite."}]}}})
    w.call("PATCH", f"{A}/{BELLA}", json={"name": "Bella Dental Reception", "tags": ["dental", "booking", "en"]})
    w.call("PATCH", f"{A}/agent_nope", json={}, expect=404)
    w.call("PATCH", f"{A}/{BELLA}", json={"conversation_config": {"agent": {"prompt": {"prompt": 5}}}}, expect=422)
    w.call("PATCH", f"{A}/{BELLA}", json={"name": 5}, expect=422)
    w.call("PATCH", f"{A}/{BELLA}", params={"branch_id": "agtbrch_nope"}, json={}, expect=404)
    w.call("GET", f"{A}/{BELLA}/versions/agtvrsn_nope", expect=404)
    w.call("GET", f"{A}/agent_nope/versions/agtvrsn_nope", expect=404)


def _branches(w: Walker) -> None:
    for aid in (BELLA, SANITAS, ACME):
        base = f"/v1/convai/agents/{aid}"
        listed = w.call("GET", f"{base}/branches", params={"include_commit_status": "true", "limit": 50})["results"]
        main = w.call("GET", base)["main_branch_id"]
        for b in listed:
            got = w.call("GET", f"{base}/branches/{b['id']}")
            for v in got["most_recent_versions"]:
                meta = w.call("GET", f"{base}/versions/{v['id']}")
                assert meta == v
                w.call("GET", base, params={"version_id": v["id"]})
            if b["id"] != main:
                w.call("GET", f"{base}/branches/{b['id']}/merge-preview", params={"target_branch_id": main})
                w.call("GET", f"{base}/branches/{main}/merge-preview", params={"target_branch_id": b["id"],
                                                                               "force": "true"})
    base = f"/v1/convai/agents/{BELLA}"
    main_tip = w.call("GET", base)
    w.call("GET", f"{base}/branches", params={"limit": 1}, expect=422)
    w.call("GET", "/v1/convai/agents/agent_nope/branches", expect=404)
    made = w.call("POST", f"{base}/branches", json={
        "parent_version_id": main_tip["version_id"], "name": "walk", "description": "made by the walk",
        "conversation_config": {"agent": {"prompt": {"prompt": main_tip["conversation_config"]["agent"]["prompt"][
            "prompt"] + "\nAlways confirm the booking time."}}}})
    bid = made["created_branch_id"]
    w.call("POST", f"{base}/branches", json={"parent_version_id": main_tip["version_id"], "name": "walk",
                                             "description": ""}, expect=409)
    w.call("POST", f"{base}/branches", json={"parent_version_id": "agtvrsn_nope", "name": "x", "description": ""},
           expect=422)
    w.call("POST", f"{base}/branches", json={"parent_version_id": main_tip["version_id"], "name": "x"}, expect=422)
    w.call("POST", f"{base}/branches", json={"parent_version_id": None, "name": "x", "description": ""}, expect=422)
    w.call("POST", "/v1/convai/agents/agent_nope/branches", json={"parent_version_id": "v", "name": "x",
                                                                  "description": ""}, expect=404)
    w.call("PATCH", f"{base}/branches/{bid}", json={"name": "walk-renamed", "protection_status": "admin_perms_required"})
    w.call("PATCH", f"{base}/branches/{main_tip['branch_id']}", json={"is_archived": True}, expect=422)
    w.call("PATCH", f"{base}/branches/agtbrch_nope", json={}, expect=404)
    w.call("GET", f"{base}/branches/agtbrch_nope", expect=404)
    w.call("GET", f"{base}/branches/{bid}/merge-preview", params={"target_branch_id": bid}, expect=422)
    w.call("GET", f"{base}/branches/{bid}/merge-preview", expect=422)
    w.call("GET", f"{base}/branches/agtbrch_nope/merge-preview", params={"target_branch_id": bid}, expect=404)
    w.call("POST", f"{base}/deployments", json={"deployment_request": {"requests": [
        {"branch_id": main_tip["branch_id"], "deployment_strategy": {"type": "percentage", "traffic_percentage": 70}},
        {"branch_id": bid, "deployment_strategy": {"type": "percentage", "traffic_percentage": 30}}]}})
    assert w.call("GET", f"{base}/branches/{bid}")["current_live_percentage"] == 30
    w.call("POST", f"{base}/deployments", json={"deployment_request": {"requests": [
        {"branch_id": bid, "deployment_strategy": {"traffic_percentage": 30}}]}}, expect=422)
    w.call("POST", f"{base}/deployments", json={"deployment_request": {"requests": [
        {"branch_id": "agtbrch_nope", "deployment_strategy": {"traffic_percentage": 100}}]}}, expect=422)
    draft = {"conversation_config": main_tip["conversation_config"], "platform_settings": {}, "workflow": {},
             "name": "Bella draft"}
    w.call("POST", f"{base}/drafts", params={"branch_id": bid}, json=draft)
    assert w.call("GET", f"{base}/branches", params={"include_archived": "true"})["results"]
    w.call("POST", f"{base}/drafts", params={"branch_id": bid}, json={"name": "x"}, expect=422)
    w.call("POST", f"{base}/drafts", json=draft, expect=422)
    w.call("POST", "/v1/convai/agents/agent_nope/drafts", params={"branch_id": bid}, json=draft, expect=404)
    w.call("DELETE", f"{base}/drafts", params={"branch_id": bid})
    w.call("DELETE", f"{base}/drafts", params={"branch_id": "agtbrch_nope"}, expect=404)
    w.call("POST", f"{base}/branches/{bid}/merge", params={"target_branch_id": main_tip["branch_id"]},
           json={"archive_source_branch": False})
    w.call("POST", f"{base}/branches/{bid}/merge", params={"target_branch_id": bid}, json={}, expect=422)
    w.call("POST", f"{base}/branches/{bid}/merge", params={"target_branch_id": "agtbrch_nope"}, expect=404)
    w.call("POST", f"{base}/branches/{bid}/merge", json={}, expect=422)
    w.call("GET", f"{base}/branches/{bid}")
    w.call("GET", f"{base}/branches", params={"include_archived": "true", "include_commit_status": "true"})


def _sim_body() -> dict[str, Any]:
    return {"simulation_specification": {
        "simulated_user_config": {"first_message": "Hi, I'd like to book on Friday at 9 AM.",
                                  "prompt": {"prompt": "You are difficult. My name is Tom."}},
        "tool_mock_config": {"book_appointment": {"default_return_value": '{"ok": true}'}}},
        "extra_evaluation_criteria": [{"id": "polite", "name": "Polite", "conversation_goal_prompt": "Polite."}],
        "new_turns_limit": 12}


def _simulation(w: Walker) -> None:
    base = f"/v1/convai/agents/{BELLA}"
    w.call("POST", f"{base}/simulate-conversation", json=_sim_body())
    w.call("POST", f"{base}/simulate-conversation/stream", json=_sim_body())
    w.call("POST", f"{base}/simulate-conversation", json={}, expect=422)
    w.call("POST", f"{base}/simulate-conversation/stream", json={"simulation_specification": {}}, expect=422)
    w.call("POST", "/v1/convai/agents/agent_nope/simulate-conversation", json=_sim_body(), expect=404)
    w.call("POST", "/v1/convai/agents/agent_nope/simulate-conversation/stream", json=_sim_body(), expect=404)


def _settle(w: Walker, inv_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        inv = w.call("GET", f"/v1/convai/test-invocations/{inv_id}")
        if all(r["status"] != "pending" for r in inv["test_runs"]):
            return inv
        assert time.monotonic() < deadline, "runs still pending"
        time.sleep(0.05)


def _tests_and_runs(w: Walker) -> None:
    T = "/v1/convai/agent-testing"
    made = [w.call("POST", f"{T}/create", json=b)["id"] for b in (
        {"name": "Walk llm", "type": "llm", "success_condition": "The agent is polite.",
         "chat_history": [{"role": "user", "message": "Hello?", "time_in_call_secs": 0}],
         "success_examples": [{"response": "Hello!", "type": "success"}], "failure_examples": []},
        {"name": "Walk tool", "type": "tool", "chat_history": [{"role": "user", "message": "Book Tuesday at 3 PM",
                                                                "time_in_call_secs": 0}],
         "tool_call_parameters": {"referenced_tool": {"id": "book_appointment", "type": "webhook"},
                                  "parameters": [{"path": "time", "eval": {"type": "anything"}}]}},
        {"name": "Walk sim", "type": "simulation", "simulation_scenario": "You want to book a cleaning.",
         "simulation_max_turns": 6, "success_conditions": ["The agent books the appointment."]})]
    w.call("POST", f"{T}/create", json={"name": "no condition", "type": "llm"}, expect=422)
    w.call("POST", f"{T}/create", json={"name": "x", "type": "folder"}, expect=422)
    w.call("POST", f"{T}/create", json={"type": "llm"}, expect=422)
    tests = w.pages(T, "tests", 2)
    w.pages(T, "tests", 100, types=["tool", "simulation"], search="walk")
    w.call("GET", T, params={"cursor": "null"}, expect=422)
    w.call("GET", T, params={"types": "nope"}, expect=422)
    for t in tests:
        w.call("GET", f"{T}/{t['id']}")
    w.call("GET", f"{T}/test_nope", expect=404)
    w.call("PUT", f"{T}/{made[0]}", json={"name": "Walk llm 2", "type": "llm",
                                          "success_condition": "The agent thanks the caller."})
    w.call("PUT", f"{T}/test_nope", json={"name": "x", "type": "llm", "success_condition": "y"}, expect=404)
    w.call("PUT", f"{T}/{made[0]}", json={"name": "x", "type": "simulation"}, expect=422)
    w.call("POST", f"{T}/summaries", json={"test_ids": [t["id"] for t in tests] + ["test_nope"]})
    w.call("POST", f"{T}/summaries", json={"test_ids": [{}]}, expect=422)
    w.call("POST", f"{T}/summaries", json={"test_ids": ["a", "a"]}, expect=422)
    w.call("POST", f"{T}/summaries", json={}, expect=422)

    R = "/v1/convai/agents/{}/run-tests"
    bella_tests = [{"test_id": t} for t in ("test_bella_confirms", "test_bella_books_tool", "test_bella_sim_booking")]
    inv = w.call("POST", R.format(BELLA), json={"tests": bella_tests + [{"test_id": m} for m in made],
                                                "repeat_count": 2, "name": "walk"})
    w.call("POST", R.format(BELLA), json={"tests": bella_tests, "branch_id": "agtbrch_bella_confirm"})
    agent = w.call("GET", f"/v1/convai/agents/{BELLA}")
    w.call("POST", R.format(BELLA), json={"tests": bella_tests[:1], "agent_config_override": {
        "conversation_config": {"agent": {"prompt": {"prompt": agent["conversation_config"]["agent"]["prompt"]["prompt"]
                                                     + "\nAlways confirm the booking time."}}},
        "platform_settings": {}}})
    w.call("POST", R.format(BELLA), json={"tests": [{"test_id": "test_nope"}]}, expect=422)
    w.call("POST", R.format(BELLA), json={"tests": []}, expect=422)
    w.call("POST", R.format(BELLA), json={"tests": bella_tests, "repeat_count": 0}, expect=422)
    w.call("POST", R.format(BELLA), json={"tests": bella_tests, "agent_config_override": {"conversation_config": {}}},
           expect=422)
    w.call("POST", R.format("agent_nope"), json={"tests": bella_tests}, expect=404)
    w.call("POST", R.format(BELLA), json={"tests": bella_tests, "branch_id": "agtbrch_nope"}, expect=404)
    final = _settle(w, inv["id"])
    I = "/v1/convai/test-invocations"
    rid = final["test_runs"][0]["test_run_id"]
    w.call("POST", f"{I}/{inv['id']}/resubmit", json={"test_run_ids": [rid], "agent_id": BELLA,
                                                      "branch_id": "agtbrch_bella_confirm"})
    w.call("GET", f"{I}/{inv['id']}")  # the resubmitted run pending again
    _settle(w, inv["id"])
    w.call("POST", f"{I}/{inv['id']}/resubmit", json={"test_run_ids": ["run_nope"], "agent_id": BELLA}, expect=422)
    w.call("POST", f"{I}/{inv['id']}/resubmit", json={"test_run_ids": [rid], "agent_id": ACME}, expect=422)
    w.call("POST", f"{I}/{inv['id']}/resubmit", json={"test_run_ids": [], "agent_id": BELLA}, expect=422)
    w.call("POST", f"{I}/{inv['id']}/resubmit", json={"test_run_ids": [rid], "agent_id": "agent_nope"}, expect=404)
    w.call("POST", f"{I}/inv_nope/resubmit", json={"test_run_ids": [rid], "agent_id": BELLA}, expect=404)
    for aid in (BELLA, SANITAS, ACME, None):
        for item in w.pages(I, "results", 3, **({"agent_id": aid} if aid else {})):
            _settle(w, item["id"])
    w.pages(I, "results", 100, search="nightly")
    w.call("GET", I, params={"cursor": "null"}, expect=422)
    w.call("GET", I, params={"page_size": 101}, expect=422)
    w.call("GET", f"{I}/inv_nope", expect=404)
    w.call("DELETE", f"{T}/{made[2]}")
    w.call("DELETE", f"{T}/{made[2]}", expect=404)


def _conversations(w: Walker, *, details: bool) -> None:
    C = "/v1/convai/conversations"
    convs = w.pages(C, "conversations", 100, summary_mode="include", evaluation_criteria_ids=["confirms_booking",
                                                                                              "polite"],
                    data_collection_ids=["caller_name"])
    agent = w.call("GET", f"/v1/convai/agents/{BELLA}")
    filters: list[dict[str, Any]] = [
        {"agent_id": BELLA, "branch_id": "agtbrch_bella_confirm"}, {"agent_id": BELLA, "version_id": agent["version_id"]},
        {"call_successful": "failure"}, {"call_duration_min_secs": 60, "call_duration_max_secs": 200},
        {"rating_min": 4}, {"rating_max": 2, "has_feedback_comment": "true"}, {"tool_names": ["book_appointment"]},
        {"tool_names_errored": ["book_appointment"]}, {"main_languages": ["ro"]},
        {"evaluation_params": ["confirms_booking:success"]}, {"data_collection_params": ["caller_name:missing"]},
        {"termination_reasons": ["Client disconnected"]}, {"exclude_statuses": ["done"]}, {"sort_direction": "asc"},
        {"search": "booking"}, {"call_start_after_unix": 1795000000, "call_start_before_unix": 1795100000},
        {"user_id": "u1"}, {"visited_agent_ids": [ACME]}, {"conversation_product_type": "agents", "text_only": "false"},
    ]
    for f in filters:
        w.call("GET", C, params={"page_size": 30, **f})
    w.pages(C, "conversations", 100, agent_id=SANITAS, sort_direction="asc")
    for q in ({"cursor": "null"}, {"rating_min": 9}, {"evaluation_params": "bad"}, {"page_size": 500},
              {"exclude_statuses": ["nope"]}, {"summary_mode": "all"}, {"data_collection_params": "x:near:1"}):
        w.call("GET", C, params=q, expect=422)
    w.call("GET", C, params={"agent_id": "agent_nope"}, expect=404)
    ids = [c["conversation_id"] for c in convs]
    if details:
        for cid in ids:
            w.call("GET", f"{C}/{cid}")
    w.call("GET", f"{C}/{ids[0]}", params={"format": "opentelemetry"})
    w.call("GET", f"{C}/{ids[0]}", params={"format": "xml"}, expect=422)
    w.call("GET", f"{C}/conv_nope", expect=404)
    done = next(c["conversation_id"] for c in convs if c["status"] == "done" and c["agent_id"] == BELLA)
    busy = next((c["conversation_id"] for c in convs if c["status"] != "done"), None)
    w.call("POST", f"{C}/{done}/feedback", json={"feedback": "like"})
    w.call("POST", f"{C}/{done}/feedback", json={})
    w.call("POST", f"{C}/{done}/feedback", json={"feedback": "meh"}, expect=422)
    w.call("POST", f"{C}/conv_nope/feedback", json={"feedback": "like"}, expect=404)
    w.call("POST", f"{C}/{done}/analysis/run")
    w.call("POST", f"{C}/{done}/analysis/evaluations/run", json={"evaluation_id": "polite"})
    w.call("POST", f"{C}/{done}/analysis/evaluations/run", json={"evaluation_id": "nope"}, expect=422)
    w.call("POST", f"{C}/{done}/analysis/evaluations/run", json={}, expect=422)
    if busy:
        w.call("POST", f"{C}/{busy}/analysis/run", expect=422)
    w.call("POST", f"{C}/conv_nope/analysis/run", expect=404)
    w.call("POST", f"{C}/conv_nope/analysis/evaluations/run", json={"evaluation_id": "polite"}, expect=404)
    S = f"{C}/messages/text-search"
    w.pages(S, "results", 100, text_query="confirm", agent_id=BELLA)
    w.call("GET", S, params={"text_query": "book", "call_successful": "success", "main_languages": ["en"],
                             "sort_by": "created_at"})
    w.call("GET", S, expect=422)
    w.call("GET", S, params={"text_query": "x", "cursor": "null"}, expect=422)
    w.call("DELETE", f"{C}/{ids[-1]}")
    w.call("DELETE", f"{C}/{ids[-1]}", expect=404)
