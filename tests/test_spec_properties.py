"""Property-based run over the published document: Hypothesis strategies generated from each operation's
parameter and body schemas (mixed with the emulator's real ids, and with junk), sent to emulators on a
real loopback port. No input may produce a 5xx; every answer is JSON; in strict mode every answer
conforms to the document, and a request the document accepts is never refused for its shape.

Derandomized (a fixed seed per operation) and bounded (examples per operation below), so it cannot flake
and stays well under a minute.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convai_tui.emulator import openapi as O
from convai_tui.emulator.server import EmulatorServer
from convai_tui.emulator.state import EmulatorConfig

EXAMPLES = 20  # per operation and mode: 32 operations x 20 x 2 modes = 1,280 requests
OPS = [op for op in O.operations() if op.in_spec]
CHECKER = O.SpecChecker()
# 422 "types" that are business rules of the emulator (an unknown test id, a cursor it did not hand out,
# traffic not adding up to 100 ...), which a request valid for the document may still get. Anything
# else (string_type, missing, literal_error, extra_forbidden, ...) on a valid request would mean the
# emulator is stricter than the document.
BUSINESS = {"value_error"}

STATS: Counter[tuple[str, str, int]] = Counter()  # (mode, "valid"/"invalid" request, status)

SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


# --------------------------------------------------------------------------- strategies from schemas
def from_schema(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict) or depth > 9:
        return st.none()
    schema = CHECKER.resolve(schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return st.one_of([st.deferred(lambda s=s: from_schema(s, depth + 1)) for s in schema[key]])
    if schema.get("allOf"):
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for sub in schema["allOf"]:
            sub = CHECKER.resolve(sub)
            merged["properties"].update(sub.get("properties") or {})
            merged["required"] += sub.get("required") or []
        return from_schema(merged, depth)
    t = schema.get("type")
    if isinstance(t, list):
        return st.one_of([from_schema({**schema, "type": x}, depth) for x in t])
    if t is None:
        t = "object" if "properties" in schema else None
    if t == "string":
        lo, hi = schema.get("minLength", 0), min(schema.get("maxLength", 12), 12)
        if schema.get("pattern"):
            try:
                return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) <= 64)
            except Exception:  # a pattern Python's re cannot take: plain text (the checker decides)
                pass
        return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=lo, max_size=max(lo, hi))
    if t == "integer":
        lo = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else -5)
        hi = schema.get("maximum", schema["exclusiveMaximum"] - 1 if "exclusiveMaximum" in schema else 300)
        return st.integers(min_value=lo, max_value=max(lo, hi))
    if t == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -5.0))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", 300.0))
        return st.floats(min_value=lo, max_value=max(lo, hi), allow_nan=False, allow_infinity=False,
                         exclude_min="exclusiveMinimum" in schema, exclude_max="exclusiveMaximum" in schema)
    if t == "boolean":
        return st.booleans()
    if t == "null":
        return st.none()
    if t == "array":
        lo = schema.get("minItems", 0)
        hi = min(schema.get("maxItems", lo + 2), lo + 2)
        return st.lists(st.deferred(lambda: from_schema(schema.get("items") or {}, depth + 1)), min_size=lo,
                        max_size=hi)
    if t == "object" or t is None and ("additionalProperties" in schema):
        return _object(schema, depth)
    return JSON_VALUES


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=6),
                           lambda kids: st.lists(kids, max_size=2) | st.dictionaries(st.text(max_size=4), kids,
                                                                                    max_size=2), max_leaves=4)


def _object(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = [k for k in schema.get("required") or [] if k in props]
    optional = [k for k in props if k not in required]
    addl = schema.get("additionalProperties")
    room = max(0, 4 - depth)  # fewer optional fields the deeper we are: the config schemas are huge

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        out = {k: draw(from_schema(props[k], depth + 1)) for k in required}
        if optional and room:
            for k in draw(st.lists(st.sampled_from(optional), unique=True, max_size=room)):
                out[k] = draw(from_schema(props[k], depth + 1))
        if not props and isinstance(addl, dict):
            out.update(draw(st.dictionaries(st.text(min_size=1, max_size=6), from_schema(addl, depth + 1),
                                            max_size=2)))
        elif not props and addl in (True, None) and depth < 3:
            out.update(draw(st.dictionaries(st.text(min_size=1, max_size=6), JSON_VALUES, max_size=2)))
        return out

    return build()


# --------------------------------------------------------------------------- requests
class Ids:
    """Real ids of an emulator, so generated requests reach past the 404s."""

    def __init__(self, http: httpx.Client) -> None:
        def get(path: str, **params: Any) -> Any:
            return http.get(path, params=params).json()

        self.agents = ["agent_dental_bella", "agent_sanitas_ro", "agent_acme_support"]
        self.branches = [b["id"] for a in self.agents for b in get(f"/v1/convai/agents/{a}/branches")["results"]]
        self.versions = [v["id"] for a in self.agents
                         for b in get(f"/v1/convai/agents/{a}/branches")["results"]
                         for v in get(f"/v1/convai/agents/{a}/branches/{b['id']}")["most_recent_versions"]]
        self.tests = [t["id"] for t in get("/v1/convai/agent-testing", page_size=100)["tests"]]
        invs = get("/v1/convai/test-invocations", page_size=100)["results"]
        self.invocations = [i["id"] for i in invs]
        self.runs = [r["test_run_id"] for r in get(f"/v1/convai/test-invocations/{invs[0]['id']}")["test_runs"]]
        page = get("/v1/convai/conversations", page_size=100)
        self.conversations = [c["conversation_id"] for c in page["conversations"]]
        self.cursors = [page["next_cursor"]]

    def for_name(self, name: str) -> list[Any]:
        table = {"agent_id": self.agents, "branch_id": self.branches, "source_branch_id": self.branches,
                 "target_branch_id": self.branches, "version_id": self.versions,
                 "parent_version_id": self.versions, "test_id": self.tests, "test_ids": [self.tests[:3]],
                 "test_invocation_id": self.invocations, "test_run_ids": [self.runs[:2]],
                 "conversation_id": self.conversations, "cursor": self.cursors}
        return table.get(name, [])


def _with_real_ids(ids: Ids, value: Any, draw: Any) -> Any:
    """Swap some id-named fields of a generated body for real ids (recursively)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            real = ids.for_name(k)
            out[k] = draw(st.sampled_from(real)) if real and draw(st.booleans()) else _with_real_ids(ids, v, draw)
        return out
    if isinstance(value, list):
        return [_with_real_ids(ids, v, draw) for v in value]
    return value


def _query_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return [_query_value(x) for x in v if x is not None and not isinstance(x, (dict, list))]
    if isinstance(v, (dict, type(None))):
        return None
    return str(v)


@st.composite
def requests(draw: Any, op: O.Operation, ids: Ids) -> tuple[str, list[tuple[str, str]], Any]:
    path = op.path
    for name in [p.name for p in op.params.values() if p.location == "path"]:
        real = ids.for_name(name)
        value = draw(st.sampled_from(real) if real and draw(st.integers(0, 3)) else st.text(
            st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12))
        path = path.replace("{" + name + "}", quote(value, safe=""))
    query: list[tuple[str, str]] = []
    for p in op.query.values():
        if not (p.required or draw(st.integers(0, 3)) == 0):
            continue
        real = ids.for_name(p.name)
        v = draw(st.sampled_from(real)) if real and draw(st.booleans()) else draw(from_schema(p.schema))
        v = _query_value(v)
        if isinstance(v, list):
            query += [(p.name, x) for x in v]
        elif v is not None:
            query.append((p.name, v))
    body: Any = None
    if op.body_schema is not None and (op.body_required or draw(st.booleans())):
        body = _with_real_ids(ids, draw(from_schema(op.body_schema)), draw)
    if draw(st.integers(0, 7)) == 0:  # now and then, junk: an unknown parameter, a body of any JSON
        query.append(("x_" + draw(st.text("abc", min_size=1, max_size=3)), "1"))
        body = draw(JSON_VALUES)
    return path, query, body


# --------------------------------------------------------------------------- the runs
@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    by_mode: dict[str, Counter[str]] = {}
    for (mode, kind, status), n in STATS.items():
        by_mode.setdefault(mode, Counter())[f"{kind} {status}"] += n
    for mode, c in sorted(by_mode.items()):
        print(f"\nproperty run, {mode}: {sum(c.values())} requests: {dict(sorted(c.items()))}")


@pytest.fixture(scope="module", params=["strict", "default"])
def target(request):
    cfg = EmulatorConfig(conversations=150, stream_delay_ms=0, test_delay_ms=0, strict=request.param == "strict")
    with EmulatorServer(cfg) as srv:
        with httpx.Client(base_url=srv.base_url, headers={"xi-api-key": srv.api_key}, timeout=60) as http:
            yield request.param, http, Ids(http)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.operation_id)
def test_no_input_breaks_the_emulator(target, op):
    mode, http, ids = target
    strict = mode == "strict"

    @SETTINGS
    @given(req=requests(op, ids))
    def run(req: tuple[str, list[tuple[str, str]], Any]) -> None:
        path, query, body = req
        kw: dict[str, Any] = {"params": query}
        if body is not None:
            kw["content"] = json.dumps(body)
            kw["headers"] = {"content-type": "application/json"}
        r = http.request(op.method, path, **kw)
        valid = not CHECKER.request_errors(op, query, body, has_body=body is not None)
        STATS[(mode, "valid" if valid else "invalid", r.status_code)] += 1
        what = f"{op.method} {path} {query} {json.dumps(body)[:300]} -> {r.status_code} {r.text[:500]}"
        assert r.status_code < 500, what
        if r.headers.get("content-type", "").startswith("application/x-ndjson"):
            values = [json.loads(line) for line in r.text.splitlines() if line.strip()]
            assert values and "analysis" in values[-1], what
            return
        payload = r.json()  # every answer is JSON
        if not strict:
            if r.status_code >= 400:  # error bodies have the API's shape in every mode
                assert not CHECKER.check(payload, op.response_schema(r.status_code)), what
            return
        problems = CHECKER.check(payload, op.response_schema(r.status_code))
        assert not problems, f"{what}\n{problems}"
        if valid and r.status_code == 422:
            kinds = {e["type"] for e in payload["detail"]}
            assert kinds <= BUSINESS, f"a request the document accepts was refused for its shape: {what}"

    run()
