"""Async client for the ElevenLabs ConvAI API (and the bundled emulator).

One :class:`httpx.AsyncClient` per :class:`ConvAIClient`. Idempotent requests (GET, PUT,
DELETE, PATCH and POSTs marked idempotent) are retried with exponential backoff and jitter
on 429/502/503/504 and on connection errors, honouring ``Retry-After``/``retry-after-ms``.
A POST that starts work (run-tests, simulate, create) is never silently sent twice: it is
only retried when the connection failed before the request reached the server, or on 429.

Nothing the server sends is trusted (see README, "The API client"):

* time: each attempt ends within ``request_timeout`` (and httpx's connect/read/write/pool
  timeouts); a timed-out idempotent request is retried once; a caller's deadline
  (:meth:`ConvAIClient.deadline`, ``poll_invocation(timeout=...)``) bounds everything,
  retries and back-offs included; a ``Retry-After`` longer than ``max_retry_wait`` (or than
  the time left) is not waited for;
* size: bodies are read incrementally and decompressed by the client itself, with a cap on
  the decompressed size (``max_response_bytes``), stream values likewise;
* shape: strict JSON at most 200 levels deep, validated into models (a mismatch is a typed
  error); cursor lists that repeat a cursor or send empty pages forever are stopped;
* paths: every id is percent-encoded as one path segment (``..`` and ``""`` are refused);
* secrets: the key is validated (ASCII, no whitespace or control characters) and redacted
  from every error (see :mod:`convai_tui.api.errors`).
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json as _jsonlib
import math
import os
import random
import time
from contextlib import contextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Mapping, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from . import errors as E
from . import guards as G
from ._imports import without_httpx_cli

with without_httpx_cli():
    import httpx
from .models import (
    Agent,
    AgentConfigOverride,
    AgentVersionMetadata,
    AgentsPage,
    AgentTest,
    AgentTestBody,
    AgentTestsPage,
    AgentTestSummary,
    AgentSummary,
    AgentUpdate,
    Branch,
    BranchCreate,
    BranchCreated,
    BranchesPage,
    Conversation,
    ConversationsPage,
    ConversationSummary,
    CreatedId,
    MessageSearchPage,
    MessageSearchResult,
    MergePreview,
    ResubmitRequest,
    RunTestsRequest,
    SimulationRequest,
    SimulationResponse,
    TestInvocation,
    TestInvocationsPage,
    TestInvocationSummary,
    TestSummaries,
    TranscriptTurn,
)
from .stream import ErrorEvent, FinalEvent, JSONError, StreamDecoder, StreamEvent, TurnsEvent, event_from_value
from .stream import loads as _loads

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
ENV_KEY = "ELEVENLABS_API_KEY"
ENV_BASE_URL = "ELEVENLABS_BASE_URL"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
GONE_STATUSES = frozenset({404, 405, 410})
#: httpx's per-phase timeouts by default: a server that accepts and never answers fails after
#: ``read`` seconds (a GET after twice that: one retry).
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
DEFAULT_REQUEST_TIMEOUT = 60.0  # one attempt, from sending to the last byte of the body
DEFAULT_MAX_RESPONSE_BYTES = 64 * 2**20  # decompressed, one JSON body or one stream value
DEFAULT_MAX_STREAM_BYTES = 2**30  # decompressed, a whole stream
DEFAULT_MAX_RETRY_WAIT = 60.0  # a longer Retry-After is reported, not waited for
ERROR_BODY_BYTES = 2**20  # what is read of an error response

M = TypeVar("M", bound=BaseModel)

# Set by ConvAIClient.rate_limits_to_caller(): a 429 is raised at once (with its Retry-After) instead of
# being waited out and retried here, for callers that schedule their own requests (a bounded pool).
_429_TO_CALLER: contextvars.ContextVar[bool] = contextvars.ContextVar("convai_429_to_caller", default=False)


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``Retry-After`` as seconds or an
    HTTP date); ``None`` if absent or unreadable; ``inf`` for an absurdly long wait."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            v = float(ms)
            if not math.isnan(v):
                return max(0.0, v / 1000.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        v = float(ra)
        return None if math.isnan(v) else max(0.0, v)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(ra)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, OverflowError, IndexError):
            return None


def seg(value: Any) -> str:
    """One path segment: ``value`` percent-encoded (``/``, ``?``, ``#``, ``%`` included), so an id
    can never change the path (``../agents/x`` stays one segment). ``""``, ``.`` and ``..`` are
    refused: no resource has them as id, and URL normalisation would turn them into another path."""
    s = str(value)
    if s in ("", ".", ".."):
        raise E.InvalidRequestError(f"{s!r} is not a valid id.")
    try:
        return quote(s, safe="")
    except UnicodeEncodeError:
        raise E.InvalidRequestError("an id contains text that is not valid Unicode (a lone surrogate).") from None


def _label(value: Any, limit: int = 60) -> str:
    """An id as shown in a message: bounded (the message is made terminal-safe as a whole)."""
    return E.bounded(value, limit)


def _check_key(key: str) -> str:
    for i, ch in enumerate(key):
        o = ord(ch)
        if o > 0x7E or o < 0x21:
            what = ("a non-ASCII character" if o > 0x7F else "a space" if ch == " "
                    else "a control character")
            raise E.ConfigError(
                f"The API key contains {what} (at position {i + 1} of {len(key)}), which cannot be sent in "
                f"an HTTP header: check {ENV_KEY} or the key file (copy the key again from the dashboard).")
    return key


def _decoded_headers(headers: httpx.Headers) -> list[tuple[bytes, bytes]]:
    """The headers of a response whose body the client decoded: without the encoding and length."""
    return [(k, v) for k, v in headers.raw if k.lower() not in (b"content-encoding", b"content-length")]


def _validate(model: type[M], data: Any, what: str) -> M:
    """``model.model_validate(data)``, or a typed error naming the fields that did not fit
    (never the values: they could be anything)."""
    try:
        return model.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError; anything else a hostile value could provoke
        errors = getattr(exc, "errors", None)
        try:
            items = errors(include_url=False, include_input=False) if callable(errors) else []
        except Exception:
            items = []
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(body)'}: {e.get('msg', '')}" for e in items[:5])
        more = f" (and {len(items) - 5} more)" if len(items) > 5 else ""
        raise E.APIStatusError(
            f"{what} failed: unexpected response shape ({E.bounded(where or type(exc).__name__, 600)}{more})."
        ) from None


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (params or {}).items():
        if v is None:
            continue
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            out[k] = [str(x) for x in v]
        else:
            out[k] = v
    return out


class ConvAIClient:
    """Typed async client. Use as ``async with ConvAIClient(...) as client:``.

    ``timeout``: httpx's per-phase timeouts (a number sets all four); ``request_timeout``: the
    longest one attempt may take, body included; ``max_response_bytes``: the largest decompressed
    JSON body and stream value accepted; ``max_retry_wait``: the longest ``Retry-After`` waited for.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        require_key: bool = True,
        user_agent: str = "convai-tui",
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(ENV_KEY)
        key = (key or "").strip()  # a key file or a variable set from one ends with a newline
        if require_key and not key:
            raise E.ConfigError(
                f"No API key: set {ENV_KEY} (or pass --api-key-file), or run with --demo."
            )
        self._key = _check_key(key)
        E.register_secret(self._key)
        base = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).strip()
        if not base.startswith(("http://", "https://")):
            raise E.ConfigError(f"Base URL must start with http:// or https://, got {E.bounded(base, 200)!r}.")
        try:
            url = httpx.URL(base)
            if not url.host:
                raise httpx.InvalidURL("no host")
            if url.port is not None and not 0 < url.port < 65536:
                raise httpx.InvalidURL(f"port {url.port} is out of range")
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise E.ConfigError(f"Base URL {E.bounded(base, 200)!r} is not a valid URL ({exc}).") from None
        self.base_url = base.rstrip("/")
        self._shown_url = str(url.copy_with(username=None, password=None, query=None, fragment=None)).rstrip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self.max_response_bytes = max_response_bytes
        self.max_stream_bytes = max_stream_bytes
        self.max_retry_wait = max_retry_wait
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        # the client decodes bodies itself (with a size cap): ask only for what it decodes
        headers = {"user-agent": user_agent, "accept": "application/json", "accept-encoding": "gzip, deflate"}
        if self._key:
            headers["xi-api-key"] = self._key
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            # plain http (the loopback emulator) needs no TLS context: building one costs ~30 ms
            verify=self.base_url.startswith("https://"),
            # Expire idle connections before common server idle timeouts (uvicorn: 5 s) so a
            # POST is never sent on a connection the server is closing (it would not be retried).
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=3.0),
        )
        self.request_count = 0
        self.retry_count = 0

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> "ConvAIClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def masked_key(self) -> str:
        if not self._key:
            return "(none)"
        return f"{self._key[:3]}…{self._key[-2:]}" if len(self._key) > 8 else "****"

    def __repr__(self) -> str:
        return f"ConvAIClient(base_url={self._shown_url!r}, key={self.masked_key})"

    @staticmethod
    def deadline(seconds: float | G.Deadline | None) -> Any:
        """``with client.deadline(30): ...``: every request the current task makes in the block,
        with its retries and back-offs, ends by then (:class:`~convai_tui.api.errors.DeadlineExceeded`
        otherwise). Nested deadlines keep the earlier one; ``None`` adds none. Streams and pagers
        iterated in the block honour it too."""
        return G.deadline_scope(seconds)

    @staticmethod
    @contextmanager
    def rate_limits_to_caller() -> Iterator[None]:
        """In this block (the current task and tasks it starts), a 429 is raised at once as
        :class:`~convai_tui.api.errors.RateLimitError` (``retry_after`` as the server said) instead of
        being waited out and retried by the client: for a caller that runs requests in a bounded
        pool and must give the slot back while it waits (see ``services.limiter``)."""
        token = _429_TO_CALLER.set(True)
        try:
            yield
        finally:
            _429_TO_CALLER.reset(token)

    # ------------------------------------------------------------------ core
    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        delay = min(self.backoff_max, self.backoff_base * (2**attempt))
        return delay * (0.5 + random.random() / 2)  # jitter: 50-100 %

    def _error_from_response(self, resp: httpx.Response, body_bytes: bytes, what: str) -> E.APIStatusError:
        status = resp.status_code
        try:
            body: Any = _loads(body_bytes) if body_bytes else None
        except JSONError:
            body = body_bytes[:500].decode("utf-8", "replace")
        detail = body.get("detail") if isinstance(body, dict) else body
        if isinstance(detail, dict):
            text = E.bounded(detail.get("message") or detail.get("status") or detail)
        elif isinstance(detail, list):
            text = "invalid request"
        else:
            text = E.bounded(detail or resp.reason_phrase or "error")
        text = E.redact(text, self._key)
        msg = f"{what} failed: HTTP {status}: {text}"
        kw = {"status_code": status, "body": E.redact_value(body, self._key)}
        if 300 <= status < 400:
            loc = E.bounded(resp.headers.get("location", "?"), 200)
            return E.APIStatusError(f"{what} failed: the server redirected to {loc} (HTTP {status}); "
                                    "check the base URL.", **kw)
        if status == 401:
            return E.AuthenticationError(f"{what} failed: the API key was rejected (HTTP 401).", **kw)
        if status == 403:
            return E.PermissionDeniedError(msg, **kw)
        if status == 404:
            return E.NotFoundError(msg, **kw)
        if status == 409:
            return E.ConflictError(msg, **kw)
        if status == 422:
            errs = detail if isinstance(detail, list) else [{"loc": [], "msg": text, "type": "value_error"}]
            errs = E.redact_value(errs, self._key)
            return E.ValidationError(f"{what} failed: the server rejected the request (HTTP 422):",
                                     errors=errs, **kw)
        if status == 429:
            return E.RateLimitError(msg, retry_after=_retry_after_seconds(resp.headers), **kw)
        if status >= 500:
            return E.ServerError(msg, **kw)
        return E.APIStatusError(msg, **kw)

    def _build(self, method: str, path: str, params: Mapping[str, Any] | None, json: Any,
               what: str) -> httpx.Request:
        """The request, or :class:`InvalidRequestError` (nothing is sent) for what cannot be encoded."""
        headers = None
        content = None
        if json is not None:
            try:
                try:
                    content = _jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"),
                                             allow_nan=False).encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate: \u-escaped, as JSON allows
                    content = _jsonlib.dumps(json, ensure_ascii=True, separators=(",", ":"),
                                             allow_nan=False).encode("ascii")
            except ValueError:
                raise E.InvalidRequestError(
                    f"{what}: the request body holds a number JSON cannot carry (NaN or infinity); nothing was sent."
                ) from None
            except RecursionError:
                raise E.InvalidRequestError(f"{what}: the request body is nested too deeply; nothing was sent.") \
                    from None
            headers = {"content-type": "application/json"}
        try:
            return self._http.build_request(method, path, params=_clean_params(params), content=content,
                                            headers=headers)
        except UnicodeEncodeError:
            raise E.InvalidRequestError(
                f"{what}: a parameter holds text that is not valid Unicode (a lone surrogate); nothing was sent."
            ) from None
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise E.InvalidRequestError(f"{what}: the request cannot be built ({E.bounded(exc, 120)}); "
                                        "nothing was sent.") from None

    def _deadline_error(self, what: str, d: G.Deadline, last: Exception | None = None) -> E.DeadlineExceeded:
        tail = f" The last answer: {E.bounded(last, 400)}" if last is not None else ""
        return E.DeadlineExceeded(f"{what} failed: the deadline of {G.describe(d.seconds)} passed.{tail}")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        stream: bool = False,
        what: str | None = None,
        max_bytes: int | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a successful response. ``stream=False``: its body was read
        (decompressed, at most ``max_bytes``: default ``max_response_bytes``) and is in ``.content``;
        ``stream=True``: only the headers were read and the caller must close it."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        what = what or f"{method} {_label(path, 120)}"
        req = self._build(method, path, params, json, what)
        deadline = G.current_deadline()
        attempt = 0
        timeouts = 0
        while True:
            if deadline is not None and deadline.expired:
                raise self._deadline_error(what, deadline)
            budget = self.request_timeout
            by_deadline = False
            if deadline is not None and (budget is None or deadline.remaining() < budget):
                budget, by_deadline = max(0.0, deadline.remaining()), True
            self.request_count += 1
            try:
                async with asyncio.timeout(budget):
                    resp, body = await self._attempt(req, stream, what, max_bytes)
            except TimeoutError:
                if by_deadline:
                    raise self._deadline_error(what, deadline) from None  # type: ignore[arg-type]
                timeouts += 1
                err: E.ConvAIError = E.APITimeoutError(
                    f"{what} failed: timed out (no complete answer within {G.describe(budget or 0)}).")
                if idempotent and timeouts <= 1 and attempt < self.max_retries:
                    await self._pause(attempt, None, deadline, what, err)
                    attempt += 1
                    continue
                raise err from None
            except httpx.TransportError as exc:
                retry, err = self._transport_error(exc, what, idempotent)
                if isinstance(err, E.APITimeoutError):
                    timeouts += 1
                    retry = retry and timeouts <= 1
                if retry and attempt < self.max_retries:
                    await self._pause(attempt, None, deadline, what, err)
                    attempt += 1
                    continue
                raise err from None
            if resp.status_code < 300:
                if stream:
                    return resp
                return httpx.Response(resp.status_code, headers=_decoded_headers(resp.headers), content=body,
                                      request=req)
            err = self._error_from_response(resp, body, what)
            retryable = resp.status_code in RETRY_STATUSES and (
                idempotent or resp.status_code == 429  # 429 means the request was not processed
            ) and not (resp.status_code == 429 and _429_TO_CALLER.get())
            if retryable and attempt < self.max_retries:
                wait = _retry_after_seconds(resp.headers)
                if wait is not None and wait > self.max_retry_wait:
                    raise type(err)(  # type: ignore[call-arg]
                        f"{err.message} The server asked to wait {G.describe(wait)}, longer than this client "
                        f"waits ({G.describe(self.max_retry_wait)}): try again later.",
                        status_code=err.status_code, body=err.body,
                        **({"retry_after": wait} if isinstance(err, E.RateLimitError) else {})) from None
                await self._pause(attempt, wait, deadline, what, err)
                attempt += 1
                continue
            raise err

    async def _attempt(self, req: httpx.Request, stream: bool, what: str,
                       max_bytes: int | None) -> tuple[httpx.Response, bytes]:
        """One exchange: the response and its body (an error's first MiB; nothing yet if streaming)."""
        resp = await self._http.send(req, stream=True)
        try:
            if resp.status_code >= 300:
                return resp, await self._read_body(resp, what, ERROR_BODY_BYTES, truncate=True)
            if stream:
                return resp, b""
            limit = self.max_response_bytes if max_bytes is None else max_bytes
            return resp, await self._read_body(resp, what, limit)
        except BaseException:
            await resp.aclose()
            raise

    async def _read_body(self, resp: httpx.Response, what: str, limit: int, *, truncate: bool = False) -> bytes:
        """The decompressed body, read as it arrives, at most ``limit`` bytes: beyond that,
        :class:`ResponseTooLarge` (or, with ``truncate``, the first ``limit`` bytes)."""
        try:
            decoder = G.ContentDecoder(resp.headers.get("content-encoding"), limit=None if truncate else limit,
                                       what=what, status_code=resp.status_code)
            if not truncate:
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and not resp.headers.get("content-encoding") and int(declared) > limit:
                    raise E.ResponseTooLarge(
                        f"{what} failed: the response is {int(declared):,} bytes, more than the "
                        f"{limit:,} this client accepts.", status_code=resp.status_code)
            buf = bytearray()
            async for raw in resp.aiter_raw():
                for piece in decoder.feed(raw):
                    buf += piece
                    if truncate and len(buf) >= limit:  # (checked per piece: one gzip chunk can hold 64 MB)
                        return bytes(buf[:limit])
            for piece in decoder.flush():
                buf += piece
            return bytes(buf[:limit]) if truncate else bytes(buf)
        except E.ResponseDecodeError:
            if truncate:
                return b""
            raise
        finally:
            await resp.aclose()

    def _transport_error(self, exc: httpx.TransportError, what: str, idempotent: bool) -> tuple[bool, E.ConvAIError]:
        """(may this be retried?, the error to raise otherwise) for a failure below HTTP."""
        name = type(exc).__name__
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            # nothing reached the server: any method may be sent again (timeouts: once)
            return True, E.APITimeoutError(f"{what} failed: cannot connect to {self._shown_url} in time ({name}).")
        if isinstance(exc, httpx.ConnectError):
            return True, E.APIConnectionError(f"{what} failed: cannot connect to {self._shown_url} ({name}).")
        if isinstance(exc, httpx.TimeoutException):
            return idempotent, E.APITimeoutError(f"{what} failed: timed out ({name}).")
        return idempotent, E.APIConnectionError(f"{what} failed: the connection broke ({name}).")

    async def _pause(self, attempt: int, retry_after: float | None, deadline: G.Deadline | None = None,
                     what: str = "", last: Exception | None = None) -> None:
        """Wait before the next attempt, never past the deadline: a ``Retry-After`` longer than the
        time left ends the wait at once (the server would refuse an earlier retry)."""
        delay = self._backoff(attempt, retry_after)
        if deadline is not None:
            left = deadline.remaining()
            if retry_after is not None and retry_after > left:
                raise E.DeadlineExceeded(
                    f"{what} failed: the server asked to wait {G.describe(retry_after)}, more than the "
                    f"{G.describe(max(0.0, left))} left before the deadline of {G.describe(deadline.seconds)}. "
                    f"The last answer: {E.bounded(last, 300)}")
            if delay >= left:  # the next attempt would come too late: wait out the deadline, then say so
                await self._sleep(max(0.0, left))
                raise self._deadline_error(what, deadline, last)
        self.retry_count += 1
        await self._sleep(delay)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = await self._send(method, path, **kw)
        if not resp.content:
            return None
        try:
            return _loads(resp.content)
        except JSONError as exc:
            raise E.APIStatusError(
                f"{kw.get('what') or method + ' ' + _label(path, 120)} failed: the server sent invalid JSON "
                f"({exc}).",
                status_code=resp.status_code,
            ) from None

    async def _model(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        data = await self._json(method, path, **kw)
        return _validate(model, data, kw.get("what") or f"{method} {_label(path, 120)}")

    async def _paginate(
        self,
        fetch: Callable[[str | None], Awaitable[Any]],
        items_attr: str,
        limit: int | None = None,
        what: str | None = None,
    ) -> AsyncIterator[Any]:
        """Items of every page in order. Stops with :class:`PaginationError` (after yielding what came)
        when the server repeats a cursor or sends empty pages that say there is more."""
        cursor: str | None = None
        seen = 0
        guard = G.PageGuard(what or f"Listing {items_attr}")
        while True:
            page = await fetch(cursor)
            items = getattr(page, items_attr)
            for item in items:
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            guard.check(len(items), bool(page.has_more), page.next_cursor)
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    # ------------------------------------------------------------------ agents
    async def list_agents(self, *, cursor: str | None = None, page_size: int = 30,
                          search: str | None = None, **filters: Any) -> AgentsPage:
        return await self._model(AgentsPage, "GET", "/v1/convai/agents",
                                 params={"cursor": cursor, "page_size": page_size, "search": search, **filters},
                                 what="Listing agents")

    def iter_agents(self, **kw: Any) -> AsyncIterator[AgentSummary]:
        return self._paginate(lambda c: self.list_agents(cursor=c, **kw), "agents")

    async def get_agent(self, agent_id: str, *, branch_id: str | None = None,
                        version_id: str | None = None) -> Agent:
        return await self._model(Agent, "GET", f"/v1/convai/agents/{seg(agent_id)}",
                                 params={"branch_id": branch_id, "version_id": version_id},
                                 what=f"Getting agent {_label(agent_id)}")

    async def update_agent(self, agent_id: str, update: AgentUpdate | dict[str, Any], *,
                           branch_id: str | None = None) -> Agent:
        body = update.to_wire() if isinstance(update, AgentUpdate) else update
        return await self._model(Agent, "PATCH", f"/v1/convai/agents/{seg(agent_id)}",
                                 params={"branch_id": branch_id}, json=body, idempotent=True,
                                 what=f"Updating agent {_label(agent_id)}")

    # ------------------------------------------------------------------ branches
    async def list_branches(self, agent_id: str, *, include_archived: bool = False,
                            limit: int | None = None, include_commit_status: bool | None = None) -> BranchesPage:
        """``limit``: 2-100 (the API's bounds); ``include_commit_status`` fills commits_ahead/behind."""
        return await self._model(BranchesPage, "GET", f"/v1/convai/agents/{seg(agent_id)}/branches",
                                 params={"include_archived": include_archived, "limit": limit,
                                         "include_commit_status": include_commit_status},
                                 what="Listing branches")

    async def get_branch(self, agent_id: str, branch_id: str) -> Branch:
        """The branch and its ``most_recent_versions`` (newest first)."""
        return await self._model(Branch, "GET", f"/v1/convai/agents/{seg(agent_id)}/branches/{seg(branch_id)}",
                                 what=f"Getting branch {_label(branch_id)}")

    async def get_version(self, agent_id: str, version_id: str) -> AgentVersionMetadata:
        """A version's metadata: branch, description, sequence number, commit time, parents."""
        return await self._model(AgentVersionMetadata, "GET", f"/v1/convai/agents/{seg(agent_id)}/versions/{seg(version_id)}",
                                 what=f"Getting version {_label(version_id)}")

    async def create_branch(self, agent_id: str, body: BranchCreate) -> BranchCreated:
        return await self._model(BranchCreated, "POST", f"/v1/convai/agents/{seg(agent_id)}/branches",
                                 json=body.to_wire(), what="Creating branch")

    async def merge_preview(self, agent_id: str, source_branch_id: str, target_branch_id: str, *,
                            force: bool | None = None) -> MergePreview:
        """The agent as it would be after merging source into target, and the conflicting fields."""
        return await self._model(MergePreview, "GET",
                                 f"/v1/convai/agents/{seg(agent_id)}/branches/{seg(source_branch_id)}/merge-preview",
                                 params={"target_branch_id": target_branch_id, "force": force},
                                 what="Previewing a merge")

    async def merge_branch(self, agent_id: str, source_branch_id: str, target_branch_id: str, *,
                           archive_source_branch: bool | None = None, force: bool | None = None) -> Any:
        # Always explicit: the API archives the source branch unless told otherwise (its default is true).
        body: dict[str, Any] = {"archive_source_branch": bool(archive_source_branch)}
        if force is not None:
            body["force"] = force
        return await self._json("POST", f"/v1/convai/agents/{seg(agent_id)}/branches/{seg(source_branch_id)}/merge",
                                params={"target_branch_id": target_branch_id}, json=body,
                                what="Merging branch")

    # ------------------------------------------------------------------ simulation (seed road)
    async def simulate(self, agent_id: str, request: SimulationRequest) -> SimulationResponse:
        return await self._model(SimulationResponse, "POST",
                                 f"/v1/convai/agents/{seg(agent_id)}/simulate-conversation",
                                 json=_no_nulls(request.to_wire()), what="Simulating a conversation")

    async def simulate_stream(self, agent_id: str, request: SimulationRequest) -> AsyncIterator[StreamEvent]:
        """Yield events as bytes arrive. Raises :class:`EndpointGone` on 404/405/410,
        :class:`StreamInterrupted` (with the partial turns) when the stream is cut, malformed,
        too large (a value over ``max_response_bytes``, the whole over ``max_stream_bytes``,
        decompressed), of an unexpected shape, or when the caller's deadline passes."""
        path = f"/v1/convai/agents/{seg(agent_id)}/simulate-conversation/stream"
        what = "Streaming a simulation"
        try:
            resp = await self._send("POST", path, json=_no_nulls(request.to_wire()), stream=True, what=what)
        except E.APIStatusError as exc:
            if exc.status_code in GONE_STATUSES and (
                exc.status_code != 404 or _looks_like_missing_route(exc.body)
            ):
                raise E.EndpointGone(
                    "This server no longer offers simulate-conversation/stream; "
                    "use a simulation test (agent-testing + run-tests) instead.",
                    status_code=exc.status_code, body=exc.body) from None
            raise
        deadline = G.current_deadline()
        turns: list[TranscriptTurn] = []
        got_final = False

        def interrupted(why: str) -> E.StreamInterrupted:
            return E.StreamInterrupted(f"Stream interrupted after {len(turns)} turns: {why}", partial=turns)

        try:
            content = G.ContentDecoder(resp.headers.get("content-encoding"), limit=self.max_stream_bytes,
                                       what=what, status_code=resp.status_code)
            decoder = StreamDecoder(max_value=self.max_response_bytes)
            chunks = resp.aiter_raw()
            while True:
                if deadline is None:
                    raw = await anext(chunks, None)
                else:
                    async with asyncio.timeout(max(0.0, deadline.remaining())):
                        raw = await anext(chunks, None)
                pieces = content.feed(raw) if raw is not None else content.flush()
                for piece in pieces:
                    for value in decoder.feed(piece):
                        ev = _event(value)
                        if isinstance(ev, TurnsEvent):
                            turns.extend(ev.turns)
                        elif isinstance(ev, FinalEvent):
                            got_final = True
                        elif isinstance(ev, ErrorEvent):
                            raise E.StreamInterrupted(
                                f"The server reported an error after {len(turns)} turns: "
                                f"{E.bounded(E.redact(E.bounded(ev.detail, 2000), self._key))}", partial=turns)
                        yield ev
                if raw is None:
                    break
            for value in decoder.close():
                ev = _event(value)
                if isinstance(ev, TurnsEvent):
                    turns.extend(ev.turns)
                elif isinstance(ev, FinalEvent):
                    got_final = True
                yield ev
        except (E.StreamProtocolError, E.ResponseTooLarge, E.ResponseDecodeError) as exc:
            raise interrupted(exc.message) from None
        except TimeoutError:
            raise interrupted(f"the deadline of {G.describe(deadline.seconds if deadline else 0)} passed.") from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise interrupted(f"the connection broke ({type(exc).__name__}).") from None
        finally:
            await resp.aclose()
        if not got_final:
            raise interrupted("it ended without the final analysis.")

    # ------------------------------------------------------------------ conversations
    async def list_conversations(
        self, *, cursor: str | None = None, page_size: int = 30, agent_id: str | None = None,
        branch_id: str | None = None, version_id: str | None = None, call_successful: str | None = None,
        call_start_before_unix: int | None = None, call_start_after_unix: int | None = None,
        call_duration_min_secs: int | None = None, call_duration_max_secs: int | None = None,
        rating_min: int | None = None, rating_max: int | None = None, has_feedback_comment: bool | None = None,
        tool_names: list[str] | None = None, main_languages: list[str] | None = None,
        evaluation_params: list[str] | None = None, evaluation_criteria_ids: list[str] | None = None,
        data_collection_ids: list[str] | None = None, termination_reasons: list[str] | None = None,
        exclude_statuses: list[str] | None = None, search: str | None = None, summary_mode: str | None = None,
        sort_direction: str | None = None,
    ) -> ConversationsPage:
        """A page of calls. Every filter is a query parameter of the published API (there is no
        like/dislike filter): ``evaluation_params`` are ``criterion_id:success|failure|unknown``;
        ``evaluation_criteria_ids`` / ``data_collection_ids`` add those results to each summary;
        ``summary_mode="include"`` adds ``transcript_summary``; ``sort_direction`` ``asc``/``desc``."""
        params = {"cursor": cursor, "page_size": page_size, "agent_id": agent_id, "branch_id": branch_id,
                  "version_id": version_id, "call_successful": call_successful,
                  "call_start_before_unix": call_start_before_unix, "call_start_after_unix": call_start_after_unix,
                  "call_duration_min_secs": call_duration_min_secs, "call_duration_max_secs": call_duration_max_secs,
                  "rating_min": rating_min, "rating_max": rating_max, "has_feedback_comment": has_feedback_comment,
                  "tool_names": tool_names, "main_languages": main_languages, "evaluation_params": evaluation_params,
                  "evaluation_criteria_ids": evaluation_criteria_ids, "data_collection_ids": data_collection_ids,
                  "termination_reasons": termination_reasons, "exclude_statuses": exclude_statuses,
                  "search": search, "summary_mode": summary_mode, "sort_direction": sort_direction}
        return await self._model(ConversationsPage, "GET", "/v1/convai/conversations", params=params,
                                 what="Listing conversations")

    def iter_conversations(self, *, limit: int | None = None, **kw: Any) -> AsyncIterator[ConversationSummary]:
        kw.setdefault("page_size", 100)
        return self._paginate(lambda c: self.list_conversations(cursor=c, **kw), "conversations", limit)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return await self._model(Conversation, "GET", f"/v1/convai/conversations/{seg(conversation_id)}",
                                 what=f"Getting conversation {_label(conversation_id)}")

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._json("DELETE", f"/v1/convai/conversations/{seg(conversation_id)}",
                         what=f"Deleting conversation {_label(conversation_id)}")

    async def send_feedback(self, conversation_id: str, feedback: str | None) -> None:
        if feedback not in ("like", "dislike", None):
            raise ValueError("feedback must be 'like', 'dislike' or None")
        await self._json("POST", f"/v1/convai/conversations/{seg(conversation_id)}/feedback",
                         json={"feedback": feedback}, idempotent=True, what="Sending feedback")

    async def search_messages(
        self, text_query: str, *, agent_id: str | None = None, cursor: str | None = None, page_size: int = 30,
        branch_id: str | None = None, version_id: str | None = None, call_successful: str | None = None,
        call_start_before_unix: int | None = None, call_start_after_unix: int | None = None,
        call_duration_min_secs: int | None = None, call_duration_max_secs: int | None = None,
        rating_min: int | None = None, rating_max: int | None = None, has_feedback_comment: bool | None = None,
        tool_names: list[str] | None = None, main_languages: list[str] | None = None,
        evaluation_params: list[str] | None = None, termination_reasons: list[str] | None = None,
        exclude_statuses: list[str] | None = None, sort_by: str | None = None,
    ) -> MessageSearchPage:
        """Messages matching ``text_query``, with the same filters as :meth:`list_conversations` (as
        far as the API offers them here); ``sort_by``: ``search_score`` or ``created_at``."""
        params = {"text_query": text_query, "agent_id": agent_id, "cursor": cursor, "page_size": page_size,
                  "branch_id": branch_id, "version_id": version_id, "call_successful": call_successful,
                  "call_start_before_unix": call_start_before_unix, "call_start_after_unix": call_start_after_unix,
                  "call_duration_min_secs": call_duration_min_secs, "call_duration_max_secs": call_duration_max_secs,
                  "rating_min": rating_min, "rating_max": rating_max, "has_feedback_comment": has_feedback_comment,
                  "tool_names": tool_names, "main_languages": main_languages, "evaluation_params": evaluation_params,
                  "termination_reasons": termination_reasons, "exclude_statuses": exclude_statuses,
                  "sort_by": sort_by}
        return await self._model(MessageSearchPage, "GET", "/v1/convai/conversations/messages/text-search",
                                 params=params, what="Searching messages")

    def iter_search_messages(self, text_query: str, *, limit: int | None = None,
                             **kw: Any) -> AsyncIterator[MessageSearchResult]:
        return self._paginate(lambda c: self.search_messages(text_query, cursor=c, **kw), "results", limit)

    # ------------------------------------------------------------------ agent tests
    async def create_test(self, body: AgentTestBody) -> CreatedId:
        return await self._model(CreatedId, "POST", "/v1/convai/agent-testing/create",
                                 json=_test_body(body), what=f"Creating test {_label(body.name)!r}")

    async def list_tests(self, *, cursor: str | None = None, page_size: int = 30,
                         search: str | None = None, types: list[str] | None = None) -> AgentTestsPage:
        return await self._model(AgentTestsPage, "GET", "/v1/convai/agent-testing",
                                 params={"cursor": cursor, "page_size": page_size, "search": search,
                                         "types": types},
                                 what="Listing tests")

    def iter_tests(self, **kw: Any) -> AsyncIterator[AgentTestSummary]:
        kw.setdefault("page_size", 100)
        return self._paginate(lambda c: self.list_tests(cursor=c, **kw), "tests")

    async def get_test(self, test_id: str) -> AgentTest:
        return await self._model(AgentTest, "GET", f"/v1/convai/agent-testing/{seg(test_id)}",
                                 what=f"Getting test {_label(test_id)}")

    async def update_test(self, test_id: str, body: AgentTestBody) -> AgentTest:
        return await self._model(AgentTest, "PUT", f"/v1/convai/agent-testing/{seg(test_id)}",
                                 json=_test_body(body), what=f"Updating test {_label(test_id)}")

    async def delete_test(self, test_id: str) -> None:
        await self._json("DELETE", f"/v1/convai/agent-testing/{seg(test_id)}", what=f"Deleting test {_label(test_id)}")

    async def test_summaries(self, test_ids: list[str]) -> TestSummaries:
        """Summaries (name, type, created/updated times) of the given tests, by id; unknown ids are left out."""
        return await self._model(TestSummaries, "POST", "/v1/convai/agent-testing/summaries",
                                 json={"test_ids": list(dict.fromkeys(test_ids))}, idempotent=True,
                                 what="Getting test summaries")

    # ------------------------------------------------------------------ run-tests
    async def run_tests(self, agent_id: str, request: RunTestsRequest) -> TestInvocation:
        return await self._model(TestInvocation, "POST", f"/v1/convai/agents/{seg(agent_id)}/run-tests",
                                 json=_with_full_override(request.to_wire()), what="Running tests")

    async def resubmit_invocation(self, invocation_id: str, test_run_ids: list[str], *, agent_id: str,
                                  branch_id: str | None = None,
                                  agent_config_override: AgentConfigOverride | None = None) -> None:
        """Run the given runs of an invocation again (on ``branch_id``, or with an ad-hoc config); their
        new results show in the same invocation (poll it)."""
        body = ResubmitRequest(test_run_ids=test_run_ids, agent_id=agent_id, branch_id=branch_id,
                               agent_config_override=agent_config_override)
        await self._json("POST", f"/v1/convai/test-invocations/{seg(invocation_id)}/resubmit",
                         json=_with_full_override(body.to_wire()), what="Resubmitting test runs")

    async def get_invocation(self, invocation_id: str) -> TestInvocation:
        return await self._model(TestInvocation, "GET", f"/v1/convai/test-invocations/{seg(invocation_id)}",
                                 what=f"Getting test invocation {_label(invocation_id)}")

    async def list_invocations(self, *, agent_id: str | None = None, cursor: str | None = None,
                               page_size: int = 30, search: str | None = None) -> TestInvocationsPage:
        """The run history, newest first."""
        return await self._model(TestInvocationsPage, "GET", "/v1/convai/test-invocations",
                                 params={"agent_id": agent_id, "cursor": cursor, "page_size": page_size,
                                         "search": search},
                                 what="Listing test invocations")

    def iter_invocations(self, *, limit: int | None = None, **kw: Any) -> AsyncIterator[TestInvocationSummary]:
        kw.setdefault("page_size", 100)
        return self._paginate(lambda c: self.list_invocations(cursor=c, **kw), "results", limit)

    async def cancel_invocation(self, invocation_id: str) -> None:
        await self._json("POST", f"/v1/convai/test-invocations/{seg(invocation_id)}/cancel", idempotent=True,
                         what="Cancelling test invocation")

    async def poll_invocation(
        self,
        invocation_id: str,
        *,
        initial_interval: float = 0.25,
        max_interval: float = 3.0,
        timeout: float | None = 900.0,
        max_consecutive_errors: int = 20,
    ) -> AsyncIterator[TestInvocation]:
        """Yield the invocation each time it is fetched until every run is terminal.

        Backs off while nothing changes; survives transient errors (connection, 5xx, 429)
        by waiting and polling again. ``timeout`` is a deadline for the whole poll: requests in
        flight, their retries, back-offs and ``Retry-After`` waits included; when it passes (or the
        server asks to wait longer than the time left) it raises :class:`DeadlineExceeded`. An
        enclosing ``client.deadline(...)`` applies too. ``None``: no deadline of its own.
        """
        own = G.Deadline(timeout) if timeout is not None else None
        deadline = G.earliest(own, G.current_deadline())
        what = f"Test invocation {_label(invocation_id)}"

        def gave_up(why: str) -> E.DeadlineExceeded:
            return E.DeadlineExceeded(f"{what} still pending after {G.describe(deadline.seconds)}"  # type: ignore[union-attr]
                                      f"{' (the timeout)' if deadline is own else ''}: {why}")

        interval = initial_interval
        last_sig: tuple[str, ...] | None = None
        errors_in_row = 0
        while True:
            try:
                with G.deadline_scope(deadline):
                    inv = await self.get_invocation(invocation_id)
                errors_in_row = 0
            except E.DeadlineExceeded as exc:
                if deadline is None:
                    raise
                raise gave_up(exc.message) from None
            except (E.APIConnectionError, E.ServerError, E.RateLimitError, E.APIStatusError) as exc:
                if isinstance(exc, E.APIStatusError) and not isinstance(exc, (E.ServerError, E.RateLimitError)) \
                        and exc.status_code not in (None, 408):
                    raise
                errors_in_row += 1
                if errors_in_row > max_consecutive_errors:
                    raise
                wait = min(max_interval, interval * 2)
                asked = getattr(exc, "retry_after", None)
                if asked is not None:
                    if asked > self.max_retry_wait and (deadline is None or asked <= deadline.remaining()):
                        raise
                    wait = max(wait, asked)
                if deadline is not None:
                    left = deadline.remaining()
                    if asked is not None and asked > left:
                        raise gave_up(f"the server asked to wait {G.describe(asked)}, more than the "
                                      f"{G.describe(max(0.0, left))} left. The last answer: {exc.message}") from None
                    if wait >= left:
                        await self._sleep(max(0.0, left))
                        raise gave_up(f"the last poll failed: {exc.message}") from None
                await self._sleep(wait)
                continue
            yield inv
            if inv.is_finished:
                return
            sig = tuple(r.status for r in inv.test_runs)
            interval = initial_interval if sig != last_sig else min(max_interval, interval * 1.6)
            last_sig = sig
            if deadline is not None:
                left = deadline.remaining()
                if left <= 0:
                    raise gave_up("runs are still pending.")
                await self._sleep(min(interval, left))
            else:
                await self._sleep(interval)


def _event(value: Any) -> StreamEvent:
    """The event of a stream value; a value of the wrong shape is a :class:`StreamProtocolError`."""
    try:
        return event_from_value(value)
    except Exception as exc:  # pydantic.ValidationError
        errors = getattr(exc, "errors", None)
        try:
            first = errors(include_url=False, include_input=False)[0] if callable(errors) else {}
        except Exception:
            first = {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "(value)"
        raise E.StreamProtocolError(
            f"the server sent a value of unexpected shape ({E.bounded(where, 120)}: "
            f"{E.bounded(first.get('msg', type(exc).__name__), 200)})") from None


def _no_nulls(value: Any) -> Any:
    """A body without its ``null`` fields: our models use None for "not set", and these bodies' fields
    are not nullable in the API (it would answer 422)."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _test_body(body: AgentTestBody) -> dict[str, Any]:
    """A test's create/update body: no nulls, and never the ``id`` of a test read back from the API."""
    wire = _no_nulls(body.to_wire())
    wire.pop("id", None)
    return wire


def _with_full_override(body: dict[str, Any]) -> dict[str, Any]:
    """The API requires both halves of an ``agent_config_override``: an override that changes only the
    conversation config carries an empty (no-change) ``platform_settings``."""
    ov = body.get("agent_config_override")
    if isinstance(ov, dict):
        body["agent_config_override"] = {"conversation_config": {}, "platform_settings": {},
                                         **{k: v for k, v in ov.items() if v is not None}}
    return body


def _looks_like_missing_route(body: Any) -> bool:
    """A 404 for a missing *route* (vs. a missing agent) says so in its detail."""
    if not isinstance(body, dict):
        return True
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail.lower() in ("not found", "method not allowed", "gone") or "no longer" in detail.lower()
    if isinstance(detail, dict):
        return detail.get("status") in ("endpoint_removed", "gone", "not_found_route")
    return False
