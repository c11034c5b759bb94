"""The published OpenAPI document (vendored in ``spec/``) as a checker.

Used by the emulator's strict mode and by the conformance tests, never on the default
start-up path: importing this module imports ``jsonschema`` (a test dependency), and
the 700 KB document is parsed on first use only.

* :func:`operations` / :func:`match`: the spec's operations, and which one a request hits.
* :class:`SpecChecker`: validates a JSON value against a schema of the document (JSON
  Schema 2020-12, as OpenAPI 3.1 defines it) and, beyond what the schema enforces, finds
  the **undeclared** properties of a value (the document rarely says
  ``additionalProperties: false``, so a validator alone accepts invented fields; the
  emulator must not send them and the client must not send them either).
* :meth:`SpecChecker.request_errors`: FastAPI-shaped 422 items for a request (query
  parameters and JSON body) the spec does not define.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

SPEC_PATH = Path(__file__).with_name("spec") / "convai-openapi.json"
REF_PREFIX = "#/components/schemas/"

# Operations the official Python SDK 2.78.0 has but the published document (the one the
# ``@elevenlabs/cli`` 1.3.0 embeds) does not. The emulator serves them in every mode; in
# strict mode they take exactly what the SDK sends (no query, no body).
SDK_ONLY_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v1/convai/test-invocations/{test_invocation_id}/cancel", "cancel_test_invocation_route"),
)

# Fields the official Python SDK 2.78.0 declares on a schema of the document that the document itself
# does not (the SDK is generated from a newer API definition). The emulator may send them, the client
# may send the request ones, and the undeclared-field check accepts them. tests/test_spec_conformance.py
# checks that the SDK really declares every one of them.
SDK_EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "AgentSummaryResponseModel": frozenset({"updated_at_unix_secs"}),  # the SDK requires it
    "GetTestSuiteInvocationResponseModel": frozenset({"name", "cancelled"}),
    "TestInvocationSummaryResponseModel": frozenset({"name", "cancelled", "cancelled_count"}),  # SDK: required
    "RunAgentTestsRequestModel": frozenset({"name"}),
}

# The error body of a non-422 error (401, 404, 409, 410, 429, ...): the document only
# describes 422, the real API answers ``{"detail": {"status": ..., "message": ...}}``.
ERROR_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {
        "type": "object", "required": ["status", "message"],
        "properties": {"status": {"type": "string", "minLength": 1}, "message": {"type": "string"}},
    }},
}


@functools.cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open("rb") as f:
        return json.load(f)


@dataclass
class Param:
    name: str
    location: str  # query | path | header
    required: bool
    schema: dict[str, Any]

    @property
    def is_array(self) -> bool:
        return _allows_type(self.schema, "array")


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    params: dict[str, Param] = field(default_factory=dict)
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    responses: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    in_spec: bool = True
    deprecated: bool = False

    @property
    def query(self) -> dict[str, Param]:
        return {k: p for k, p in self.params.items() if p.location == "query"}

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", self.path)
        rx = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(rx + "$")

    @property
    def literal_segments(self) -> int:
        return sum(1 for s in self.path.split("/") if s and not s.startswith("{"))

    def response_schema(self, status: int) -> dict[str, Any] | None:
        """The JSON schema of a response with this status (None: any JSON)."""
        if str(status) in self.responses:
            return self.responses[str(status)]
        if status >= 400:
            return ERROR_DETAIL_SCHEMA
        return None


@functools.cache
def operations() -> tuple[Operation, ...]:
    spec = load_spec()
    ops: list[Operation] = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters") or []
        for method, op in item.items():
            if method == "parameters":
                continue
            o = Operation(method.upper(), path, op.get("operationId", ""), deprecated=bool(op.get("deprecated")))
            for p in [*shared, *(op.get("parameters") or [])]:
                o.params[p["name"]] = Param(p["name"], p["in"], bool(p.get("required")), p.get("schema") or {})
            body = op.get("requestBody")
            if body:
                content = body.get("content") or {}
                js = content.get("application/json")
                o.body_schema = (js or {}).get("schema") or {}
                o.body_required = bool(body.get("required"))
            for status, resp in (op.get("responses") or {}).items():
                content = (resp or {}).get("content") or {}
                js = content.get("application/json")
                schema = (js or {}).get("schema") if js is not None else None
                o.responses[status] = schema or None
            ops.append(o)
    for method, path, op_id in SDK_ONLY_OPERATIONS:
        params = {n: Param(n, "path", True, {"type": "string"}) for n in re.findall(r"\{([^}]+)\}", path)}
        ops.append(Operation(method, path, op_id, params=params, responses={"200": None,
                                                                            "422": {"$ref": REF_PREFIX + "HTTPValidationError"}},
                             in_spec=False))
    ops.sort(key=lambda o: -o.literal_segments)
    return tuple(ops)


def match(method: str, path: str) -> Operation | None:
    """The operation a request hits (literal segments win over templates)."""
    for op in operations():
        if op.method == method.upper() and op.regex.match(path):
            return op
    return None


def path_known(path: str) -> bool:
    return any(op.regex.match(path) for op in operations())


def _allows_type(schema: Mapping[str, Any], t: str) -> bool:
    if schema.get("type") == t or (isinstance(schema.get("type"), list) and t in schema["type"]):
        return True
    return any(_allows_type(s, t) for s in schema.get("anyOf") or schema.get("oneOf") or [] if isinstance(s, dict))


class SpecChecker:
    """JSON Schema validation against the document, plus a check for undeclared properties."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.spec = spec or load_spec()
        self.schemas: dict[str, Any] = self.spec["components"]["schemas"]
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self._registry = Registry().with_resource("urn:convai-openapi", resource)
        self._jsonschema = jsonschema
        self._validators: dict[str, Any] = {}

    # ------------------------------------------------------------------ validation
    def _validator(self, schema: Mapping[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_rebase(schema)}
            v = self._jsonschema.Draft202012Validator(wrapped, registry=self._registry,
                                                      format_checker=None)
            self._validators[key] = v
        return v

    def resolve(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        return self._resolve(schema)[0]

    def _resolve(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """A schema with its ``$ref`` followed, and the name of the component it came from."""
        name = None
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith(REF_PREFIX):
                raise ValueError(f"unsupported $ref {ref}")
            name = ref[len(REF_PREFIX):]
            rest = {k: v for k, v in schema.items() if k not in ("$ref", "description", "title", "default")}
            schema = {**self.schemas[name], **rest}
        return dict(schema), name

    def is_valid(self, instance: Any, schema: Mapping[str, Any]) -> bool:
        return self._validator(schema).is_valid(instance)

    def schema_errors(self, instance: Any, schema: Mapping[str, Any], limit: int = 5) -> list[str]:
        out = []
        for err in self._leaf_errors(instance, schema):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            out.append(f"{where}: {err.message[:300]}")
            if len(out) >= limit:
                break
        return out

    def _leaf_errors(self, instance: Any, schema: Mapping[str, Any]) -> list[Any]:
        return [leaf for err in self._validator(schema).iter_errors(instance) for leaf in _explain(err)]

    def undeclared(self, instance: Any, schema: Mapping[str, Any], where: str = "") -> list[str]:
        """Paths of object properties that no matching (sub)schema declares (nor SDK 2.78.0)."""
        schema, name = self._resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            picked = self._pick(instance, schema, branches)
            if picked is None:
                return []  # the validator reports the mismatch
            sub, sub_name = self._resolve(picked)
            schema = {**{k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "discriminator")}, **sub}
            name = sub_name or name
            if schema.get("anyOf") or schema.get("oneOf") or "$ref" in schema:
                return self.undeclared(instance, schema, where)
        if schema.get("allOf"):
            props = dict(schema.get("properties") or {})
            for sub in schema["allOf"]:
                props.update(self.resolve(sub).get("properties") or {})
            schema = {**schema, "properties": props}
        out: list[str] = []
        if isinstance(instance, dict):
            props = schema.get("properties") or {}
            extra = SDK_EXTRA_FIELDS.get(name or "", frozenset())
            addl = schema.get("additionalProperties")
            for k, v in instance.items():
                p = f"{where}.{k}" if where else k
                if k in props:
                    out.extend(self.undeclared(v, props[k], p))
                elif isinstance(addl, dict):
                    out.extend(self.undeclared(v, addl, p))
                elif addl is True or k in extra or (addl is None and "properties" not in schema):
                    continue  # a free-form object, or a field SDK 2.78.0 declares
                else:
                    out.append(p)
        elif isinstance(instance, list):
            items = schema.get("items")
            if isinstance(items, dict):
                for i, v in enumerate(instance):
                    out.extend(self.undeclared(v, items, f"{where}[{i}]"))
        return out

    def _pick(self, instance: Any, schema: Mapping[str, Any], branches: list[Any]) -> Any:
        disc = schema.get("discriminator")
        if disc and isinstance(instance, dict):
            tag = instance.get(disc.get("propertyName"))
            target = (disc.get("mapping") or {}).get(tag)
            if target:
                return {"$ref": target}
        valid = [b for b in branches if self.is_valid(instance, b)]
        if not valid:
            return None
        if len(valid) == 1:
            return valid[0]
        # several branches accept it: the one that declares most of it
        return min(valid, key=lambda b: len(self.undeclared(instance, b)))

    def check(self, instance: Any, schema: Mapping[str, Any] | None, *, allow_undeclared: bool = False) -> list[str]:
        """Every problem with ``instance`` against ``schema`` (empty: conforms)."""
        if schema is None:
            return []
        errs = self.schema_errors(instance, schema)
        if not errs and not allow_undeclared:
            errs = [f"{p}: not declared by the schema" for p in self.undeclared(instance, schema)[:10]]
        return errs

    # ------------------------------------------------------------------ requests
    def request_errors(self, op: Operation, query: Iterable[tuple[str, str]], body: Any, *,
                       has_body: bool) -> list[dict[str, Any]]:
        """422 items (FastAPI's shape) for query parameters and a JSON body the spec does not define."""
        errs: list[dict[str, Any]] = []
        values: dict[str, list[str]] = {}
        for k, v in query:
            values.setdefault(k, []).append(v)
        qp = op.query
        for name, vals in values.items():
            p = qp.get(name)
            if p is None:
                errs.append({"loc": ["query", name], "msg": f"Unknown query parameter {name!r}: the published API "
                                                            f"does not define it for {op.method} {op.path}.",
                             "type": "extra_forbidden"})
                continue
            if len(vals) > 1 and not p.is_array:
                errs.append({"loc": ["query", name], "msg": "Repeated, but the parameter is not a list.",
                             "type": "list_forbidden"})
                continue
            value = _coerce_query(vals, p.schema, self)
            for msg in self.schema_errors(value, p.schema, limit=1):
                errs.append({"loc": ["query", name], "msg": msg, "type": "value_error"})
        for name, p in qp.items():
            if p.required and name not in values:
                errs.append({"loc": ["query", name], "msg": "Field required", "type": "missing"})
        if op.body_schema is None:
            if has_body:
                errs.append({"loc": ["body"], "msg": f"{op.method} {op.path} takes no request body.",
                             "type": "extra_forbidden"})
            return errs
        if not has_body:
            if op.body_required:
                errs.append({"loc": ["body"], "msg": "Field required", "type": "missing"})
            return errs
        for err in self._leaf_errors(body, op.body_schema):
            errs.append({"loc": ["body", *err.absolute_path], "msg": err.message[:300], "type": str(err.validator)})
            if len(errs) > 10:
                break
        if not errs:
            for path in self.undeclared(body, op.body_schema)[:10]:
                errs.append({"loc": ["body", *_split_path(path)],
                             "msg": "Extra inputs are not permitted: the published API does not define this field.",
                             "type": "extra_forbidden"})
        return errs


def _explain(err: Any) -> list[Any]:
    """The errors that say what is wrong: for an anyOf/oneOf, those of the branch the value meant
    (not the ones whose ``type`` or ``const`` it never matched), else the error itself."""
    if err.validator in ("anyOf", "oneOf") and err.context:
        branches: dict[Any, list[Any]] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)

        def off_target(errs: list[Any]) -> bool:
            # a const is (nearly always) a discriminator: that branch is another kind of value
            return any(e.validator == "const" or (e.validator == "type" and not e.relative_path) for e in errs)

        best = min(branches.values(), key=lambda errs: (off_target(errs), len(errs)))
        if not off_target(best):
            return [leaf for sub in best for leaf in _explain(sub)]
    return [err]


def _coerce_query(vals: list[str], schema: Mapping[str, Any], checker: SpecChecker) -> Any:
    """A query value as the JSON value the parameter schema describes (best effort)."""
    if _allows_type(schema, "array"):
        return [_scalar(v, _item_schema(schema, checker), checker) for v in vals]
    return _scalar(vals[-1], schema, checker)


def _item_schema(schema: Mapping[str, Any], checker: SpecChecker) -> Mapping[str, Any]:
    for s in [schema, *(schema.get("anyOf") or [])]:
        s = checker.resolve(s)
        if s.get("type") == "array":
            return s.get("items") or {}
    return {}


def _scalar(v: str, schema: Mapping[str, Any], checker: SpecChecker) -> Any:
    s = checker.resolve(schema)
    opts = [checker.resolve(x) for x in (s.get("anyOf") or s.get("oneOf") or [s])]
    types = {o.get("type") for o in opts}
    if "integer" in types:
        try:
            return int(v)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(v)
        except ValueError:
            pass
    if "boolean" in types and v.lower() in ("true", "false", "1", "0"):
        return v.lower() in ("true", "1")
    return v


def _split_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+", path):
        out.append(int(part) if part.isdigit() else part)
    return out


def _rebase(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Point local refs at the registered document."""
    text = json.dumps(schema).replace('"#/components/', '"urn:convai-openapi#/components/')
    return json.loads(text)
