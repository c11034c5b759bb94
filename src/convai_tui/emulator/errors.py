"""The API's error bodies, and the handlers that make every error JSON.

* 422: FastAPI's shape, ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`` (exactly
  those three keys: the published ``ValidationError`` schema);
* any other 4xx: ``{"detail": {"status": "<what>", "message": "..."}}``, as the real API answers
  (``agent_not_found``, ``invalid_api_key``, ``too_many_concurrent_requests``, ...);
* 500 only for a bug in the emulator (``{"detail": {"status": "internal_error", ...}}``), never as
  plain text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("convai_tui.emulator")


class APIError(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def not_found(kind: str, ident: str) -> APIError:
    label = kind.replace("_", " ").capitalize()
    return APIError(404, {"status": f"{kind}_not_found", "message": f"{label} '{ident}' was not found."})


def invalid(loc: list[Any], msg: str, type_: str = "value_error") -> APIError:
    return APIError(422, [{"loc": loc, "msg": msg, "type": type_}])


def conflict(status: str, msg: str) -> APIError:
    return APIError(409, {"status": status, "message": msg})


def error_items(errors: Any) -> list[dict[str, Any]]:
    """FastAPI/pydantic error dicts reduced to the published ``ValidationError`` keys."""
    out = []
    for e in errors:
        loc = [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())]
        out.append({"loc": loc, "msg": str(e.get("msg", "")), "type": str(e.get("type", "value_error"))})
    return out


_STATUS_NAMES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "payload_too_large",
                 415: "unsupported_media_type", 429: "too_many_requests"}


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": error_items(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = exc.status_code
        if code == 404 and exc.detail == "Not Found":
            detail = {"status": "not_found", "message": "No such endpoint."}
        elif code == 405:
            detail = {"status": "method_not_allowed", "message": "Method not allowed on this endpoint."}
        else:
            detail = {"status": _STATUS_NAMES.get(code, "error"), "message": str(exc.detail)}
        return JSONResponse({"detail": detail}, status_code=code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("emulator bug on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": {"status": "internal_error",
                                        "message": f"The emulator failed: {type(exc).__name__}. This is a bug."}},
                            status_code=500)
