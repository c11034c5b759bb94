"""What stands in front of every ``/v1/`` request, as plain ASGI (so a streamed response counts as
in flight until its last byte):

1. **faults** (the ``x-emulator-fault`` header, or one armed on the server) may answer instead;
2. **auth**: 401 on a missing or wrong ``xi-api-key`` (unless ``open``);
3. **concurrency**: with ``max_concurrent`` N, a request arriving while N are in flight answers 429
   ``too_many_concurrent_requests`` with ``Retry-After``, as the real API does;
4. **latency**: ``latency_ms`` plus a uniform ``0..latency_jitter_ms`` (seeded RNG), spent in flight;
5. **strict mode**: 404 for an operation the published document does not have, 422 for a query
   parameter or body field it does not define (see :mod:`.openapi`).
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import Fault
from .state import EmulatorState


WARM = "convai_emulator.warm"  # scope key of the in-process warm-up requests (app.warm)


class Gate:
    def __init__(self, app: ASGIApp, state: EmulatorState, counters: dict[str, int]) -> None:
        self.app = app
        self.st = state
        self.cfg = state.config
        self.counters = counters
        self.rng = random.Random(self.cfg.seed)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope.get(WARM):
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        self.counters["requests"] += 1
        fault = None
        raw = headers.get("x-emulator-fault")
        if raw:
            try:
                fault = Fault.parse(raw)
            except ValueError as exc:
                await _json(422, {"detail": [{"loc": ["header", "x-emulator-fault"], "msg": str(exc),
                                              "type": "value_error"}]})(scope, receive, send)
                return
        else:
            fault = self.st.faults.take(method, path)
        scope.setdefault("state", {})["fault"] = fault
        if fault is not None:
            early = await apply_fault(fault, stream=path.endswith("/stream"))
            if early is not None:
                await early(scope, receive, send)
                return
        if not self.cfg.open:
            key = headers.get("xi-api-key")
            if not key:
                await _json(401, {"detail": {"status": "needs_authorization",
                                             "message": "Missing xi-api-key header."}})(scope, receive, send)
                return
            if key != self.cfg.api_key:
                await _json(401, {"detail": {"status": "invalid_api_key",
                                             "message": "Invalid API key."}})(scope, receive, send)
                return
        limit = self.cfg.max_concurrent
        if limit and self.in_flight >= limit:
            self.counters["rejected"] += 1
            await _json(429, {"detail": {"status": "too_many_concurrent_requests",
                                         "message": f"Too many concurrent requests: at most {limit} at a time. "
                                                    "Retry after the time in Retry-After."}},
                        headers={"retry-after": str(self.cfg.retry_after_s)})(scope, receive, send)
            return
        self.in_flight += 1
        self.counters["in_flight"] = self.in_flight
        self.counters["max_in_flight"] = max(self.counters["max_in_flight"], self.in_flight)
        try:
            delay = self.cfg.latency_ms + (self.rng.uniform(0, self.cfg.latency_jitter_ms)
                                           if self.cfg.latency_jitter_ms else 0)
            if delay:
                await asyncio.sleep(delay / 1000)
            if self.cfg.strict:
                receive = await self._strict(scope, receive, send)
                if receive is None:
                    return
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.counters["in_flight"] = self.in_flight

    async def _strict(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Check the request against the document; None once a 404/422 was sent."""
        from . import openapi

        method, path = scope["method"], scope["path"]
        op = openapi.match(method, path)
        if op is None:
            known = openapi.path_known(path)
            await _json(405 if known else 404, {"detail": {
                "status": "method_not_allowed" if known else "not_found",
                "message": f"The published API has no {method} {path}."}})(scope, receive, send)
            return None
        chunks = []
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        raw = b"".join(chunks)
        body: Any = None
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as exc:
                await _json(422, {"detail": [{"loc": ["body"], "msg": f"JSON decode error: {exc}",
                                              "type": "json_invalid"}]})(scope, receive, send)
                return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        errors = self.st.spec.request_errors(op, query, body, has_body=bool(raw.strip()))
        if errors:
            await _json(422, {"detail": errors})(scope, receive, send)
            return None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        return replay


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


async def apply_fault(f: Fault, stream: bool = False) -> Response | None:
    """The answer for a fault that replaces the response; None lets the request through."""
    if f.kind == "status":
        headers = {}
        if f.retry_after is not None:
            headers["retry-after"] = f"{f.retry_after:g}"
        detail: Any = {"status": "rate_limited" if f.status == 429 else "emulated_fault",
                       "message": f"Emulated HTTP {f.status}."}
        return _json(f.status, {"detail": detail}, headers)
    if f.kind == "delay":
        await asyncio.sleep(f.delay_ms / 1000)
        return None
    if f.kind == "hang":
        await asyncio.sleep(3600)
        return _json(504, {"detail": {"status": "timeout", "message": "late"}})
    if f.kind == "reset":
        async def broken() -> AsyncIterator[bytes]:
            yield b'{"partial": '
            raise ConnectionResetError("emulator fault: connection reset")
        return StreamingResponse(broken(), media_type="application/json")
    if f.kind == "malformed" and not stream:
        # Non-stream requests get a truncated JSON body; streams handle it themselves.
        return Response(b'{"truncated": [1, 2', media_type="application/json")
    return None
