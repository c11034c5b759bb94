"""Async client for the ElevenLabs ConvAI API (and the bundled emulator).

One :class:`httpx.AsyncClient` per :class:`ConvAIClient`. Idempotent requests (GET, PUT,
DELETE, and the POSTs listed in ``_IDEMPOTENT_POSTS``) are retried with exponential
backoff and jitter on 429/502/503/504 and on connection errors, honouring
``Retry-After``/``retry-after-ms``. A POST that starts work (run-tests, simulate,
create) is never silently sent twice: it is only retried when the connection failed
before a single byte of the request was sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, TypeVar

from pydantic import BaseModel

from . import errors as E
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
from .stream import ErrorEvent, FinalEvent, StreamDecoder, StreamEvent, TurnsEvent, event_from_value

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
ENV_KEY = "ELEVENLABS_API_KEY"
ENV_BASE_URL = "ELEVENLABS_BASE_URL"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
GONE_STATUSES = frozenset({404, 405, 410})

M = TypeVar("M", bound=BaseModel)


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(ra)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


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
    """Typed async client. Use as ``async with ConvAIClient(...) as client:``."""

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
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(ENV_KEY)
        if require_key and not key:
            raise E.ConfigError(
                f"No API key: set {ENV_KEY} (or pass --api-key-file), or run with --demo."
            )
        self._key = key or ""
        base = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        if not base.startswith(("http://", "https://")):
            raise E.ConfigError(f"Base URL must start with http:// or https://, got {base!r}.")
        self.base_url = base.rstrip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        if timeout is None:
            timeout = httpx.Timeout(30.0, connect=10.0)
        headers = {"user-agent": user_agent, "accept": "application/json"}
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
        return f"ConvAIClient(base_url={self.base_url!r}, key={self.masked_key})"

    # ------------------------------------------------------------------ core
    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 60.0)
        delay = min(self.backoff_max, self.backoff_base * (2**attempt))
        return delay * (0.5 + random.random() / 2)  # jitter: 50-100 %

    def _error_from_response(self, resp: httpx.Response, what: str) -> E.APIStatusError:
        status = resp.status_code
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text[:500]
        detail = body.get("detail") if isinstance(body, dict) else body
        if isinstance(detail, dict):
            text = str(detail.get("message") or detail.get("status") or detail)
        elif isinstance(detail, list):
            text = "invalid request"
        else:
            text = str(detail or resp.reason_phrase or "error")
        text = E.redact(text, self._key)
        msg = f"{what} failed: HTTP {status}: {text}"
        kw = {"status_code": status, "body": body}
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
            errs = [e if isinstance(e, dict) else {"loc": [], "msg": str(e), "type": "value_error"} for e in errs]
            return E.ValidationError(f"{what} failed: the server rejected the request (HTTP 422):",
                                     errors=errs, **kw)
        if status == 429:
            return E.RateLimitError(msg, retry_after=_retry_after_seconds(resp.headers), **kw)
        if status >= 500:
            return E.ServerError(msg, **kw)
        return E.APIStatusError(msg, **kw)

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
    ) -> httpx.Response:
        """Send with retries; returns a successful response (streaming if asked)."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        what = what or f"{method} {path}"
        req = self._http.build_request(method, path, params=_clean_params(params), json=json)
        attempt = 0
        while True:
            self.request_count += 1
            try:
                resp = await self._http.send(req, stream=stream)
            except httpx.TransportError as exc:
                retry, err = self._transport_error(exc, what, idempotent)
                if retry and attempt < self.max_retries:
                    await self._pause(attempt, None)
                    attempt += 1
                    continue
                raise err from None
            if resp.status_code < 400:
                return resp
            if stream:
                await resp.aread()
                await resp.aclose()
            err = self._error_from_response(resp, what)
            retryable = resp.status_code in RETRY_STATUSES and (
                idempotent or resp.status_code == 429  # 429 means the request was not processed
            )
            if retryable and attempt < self.max_retries:
                await self._pause(attempt, _retry_after_seconds(resp.headers))
                attempt += 1
                continue
            raise err

    def _transport_error(self, exc: httpx.TransportError, what: str, idempotent: bool) -> tuple[bool, E.ConvAIError]:
        """(may this be retried?, the error to raise otherwise) for a failure below HTTP."""
        name = type(exc).__name__
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            # nothing reached the server: any method may be sent again
            return True, E.APIConnectionError(f"{what} failed: cannot connect to {self.base_url} ({name}).")
        if isinstance(exc, httpx.TimeoutException):
            return idempotent, E.APITimeoutError(f"{what} failed: timed out ({name}).")
        return idempotent, E.APIConnectionError(f"{what} failed: the connection broke ({name}).")

    async def _pause(self, attempt: int, retry_after: float | None) -> None:
        self.retry_count += 1
        await self._sleep(self._backoff(attempt, retry_after))

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = await self._send(method, path, **kw)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise E.APIStatusError(
                f"{kw.get('what') or method + ' ' + path} failed: the server sent invalid JSON.",
                status_code=resp.status_code,
            ) from None

    async def _model(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        data = await self._json(method, path, **kw)
        try:
            return model.model_validate(data)
        except Exception as exc:  # pydantic.ValidationError
            raise E.APIStatusError(
                f"{method} {path}: unexpected response shape ({type(exc).__name__}: {str(exc)[:300]})"
            ) from None

    async def _paginate(
        self,
        fetch: Callable[[str | None], Awaitable[Any]],
        items_attr: str,
        limit: int | None = None,
    ) -> AsyncIterator[Any]:
        cursor: str | None = None
        seen = 0
        while True:
            page = await fetch(cursor)
            for item in getattr(page, items_attr):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
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
        return await self._model(Agent, "GET", f"/v1/convai/agents/{agent_id}",
                                 params={"branch_id": branch_id, "version_id": version_id},
                                 what=f"Getting agent {agent_id}")

    async def update_agent(self, agent_id: str, update: AgentUpdate | dict[str, Any], *,
                           branch_id: str | None = None) -> Agent:
        body = update.to_wire() if isinstance(update, AgentUpdate) else update
        return await self._model(Agent, "PATCH", f"/v1/convai/agents/{agent_id}",
                                 params={"branch_id": branch_id}, json=body, idempotent=True,
                                 what=f"Updating agent {agent_id}")

    # ------------------------------------------------------------------ branches
    async def list_branches(self, agent_id: str, *, include_archived: bool = False,
                            limit: int | None = None, include_commit_status: bool | None = None) -> BranchesPage:
        """``limit``: 2-100 (the API's bounds); ``include_commit_status`` fills commits_ahead/behind."""
        return await self._model(BranchesPage, "GET", f"/v1/convai/agents/{agent_id}/branches",
                                 params={"include_archived": include_archived, "limit": limit,
                                         "include_commit_status": include_commit_status},
                                 what="Listing branches")

    async def get_branch(self, agent_id: str, branch_id: str) -> Branch:
        """The branch and its ``most_recent_versions`` (newest first)."""
        return await self._model(Branch, "GET", f"/v1/convai/agents/{agent_id}/branches/{branch_id}",
                                 what=f"Getting branch {branch_id}")

    async def get_version(self, agent_id: str, version_id: str) -> AgentVersionMetadata:
        """A version's metadata: branch, description, sequence number, commit time, parents."""
        return await self._model(AgentVersionMetadata, "GET", f"/v1/convai/agents/{agent_id}/versions/{version_id}",
                                 what=f"Getting version {version_id}")

    async def create_branch(self, agent_id: str, body: BranchCreate) -> BranchCreated:
        return await self._model(BranchCreated, "POST", f"/v1/convai/agents/{agent_id}/branches",
                                 json=body.to_wire(), what="Creating branch")

    async def merge_preview(self, agent_id: str, source_branch_id: str, target_branch_id: str, *,
                            force: bool | None = None) -> MergePreview:
        """The agent as it would be after merging source into target, and the conflicting fields."""
        return await self._model(MergePreview, "GET",
                                 f"/v1/convai/agents/{agent_id}/branches/{source_branch_id}/merge-preview",
                                 params={"target_branch_id": target_branch_id, "force": force},
                                 what="Previewing a merge")

    async def merge_branch(self, agent_id: str, source_branch_id: str, target_branch_id: str, *,
                           archive_source_branch: bool | None = None, force: bool | None = None) -> Any:
        # Always explicit: the API archives the source branch unless told otherwise (its default is true).
        body: dict[str, Any] = {"archive_source_branch": bool(archive_source_branch)}
        if force is not None:
            body["force"] = force
        return await self._json("POST", f"/v1/convai/agents/{agent_id}/branches/{source_branch_id}/merge",
                                params={"target_branch_id": target_branch_id}, json=body,
                                what="Merging branch")

    # ------------------------------------------------------------------ simulation (seed road)
    async def simulate(self, agent_id: str, request: SimulationRequest) -> SimulationResponse:
        return await self._model(SimulationResponse, "POST",
                                 f"/v1/convai/agents/{agent_id}/simulate-conversation",
                                 json=_no_nulls(request.to_wire()), what="Simulating a conversation")

    async def simulate_stream(self, agent_id: str, request: SimulationRequest) -> AsyncIterator[StreamEvent]:
        """Yield events as bytes arrive. Raises :class:`EndpointGone` on 404/405/410,
        :class:`StreamInterrupted` (with the partial turns) when the stream is cut."""
        path = f"/v1/convai/agents/{agent_id}/simulate-conversation/stream"
        try:
            resp = await self._send("POST", path, json=_no_nulls(request.to_wire()), stream=True,
                                    what="Streaming a simulation")
        except E.APIStatusError as exc:
            if exc.status_code in GONE_STATUSES and (
                exc.status_code != 404 or _looks_like_missing_route(exc.body)
            ):
                raise E.EndpointGone(
                    "This server no longer offers simulate-conversation/stream; "
                    "use a simulation test (agent-testing + run-tests) instead.",
                    status_code=exc.status_code, body=exc.body) from None
            raise
        decoder = StreamDecoder()
        turns: list[TranscriptTurn] = []
        got_final = False
        try:
            async for chunk in resp.aiter_raw():
                for value in decoder.feed(chunk):
                    ev = event_from_value(value)
                    if isinstance(ev, TurnsEvent):
                        turns.extend(ev.turns)
                    elif isinstance(ev, FinalEvent):
                        got_final = True
                    elif isinstance(ev, ErrorEvent):
                        raise E.StreamInterrupted(
                            f"The server reported an error after {len(turns)} turns: "
                            f"{E.redact(str(ev.detail), self._key)[:300]}", partial=turns)
                    yield ev
            for value in decoder.close():
                ev = event_from_value(value)
                if isinstance(ev, TurnsEvent):
                    turns.extend(ev.turns)
                elif isinstance(ev, FinalEvent):
                    got_final = True
                yield ev
        except E.StreamProtocolError as exc:
            raise E.StreamInterrupted(
                f"Stream interrupted after {len(turns)} turns: {exc}", partial=turns) from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise E.StreamInterrupted(
                f"Stream interrupted after {len(turns)} turns: the connection broke "
                f"({type(exc).__name__}).", partial=turns) from None
        finally:
            await resp.aclose()
        if not got_final:
            raise E.StreamInterrupted(
                f"Stream interrupted after {len(turns)} turns: it ended without the final analysis.",
                partial=turns)

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
        return await self._model(Conversation, "GET", f"/v1/convai/conversations/{conversation_id}",
                                 what=f"Getting conversation {conversation_id}")

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._json("DELETE", f"/v1/convai/conversations/{conversation_id}",
                         what=f"Deleting conversation {conversation_id}")

    async def send_feedback(self, conversation_id: str, feedback: str | None) -> None:
        if feedback not in ("like", "dislike", None):
            raise ValueError("feedback must be 'like', 'dislike' or None")
        await self._json("POST", f"/v1/convai/conversations/{conversation_id}/feedback",
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
                                 json=_test_body(body), what=f"Creating test {body.name!r}")

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
        return await self._model(AgentTest, "GET", f"/v1/convai/agent-testing/{test_id}",
                                 what=f"Getting test {test_id}")

    async def update_test(self, test_id: str, body: AgentTestBody) -> AgentTest:
        return await self._model(AgentTest, "PUT", f"/v1/convai/agent-testing/{test_id}",
                                 json=_test_body(body), what=f"Updating test {test_id}")

    async def delete_test(self, test_id: str) -> None:
        await self._json("DELETE", f"/v1/convai/agent-testing/{test_id}", what=f"Deleting test {test_id}")

    async def test_summaries(self, test_ids: list[str]) -> TestSummaries:
        """Summaries (name, type, created/updated times) of the given tests, by id; unknown ids are left out."""
        return await self._model(TestSummaries, "POST", "/v1/convai/agent-testing/summaries",
                                 json={"test_ids": list(dict.fromkeys(test_ids))}, idempotent=True,
                                 what="Getting test summaries")

    # ------------------------------------------------------------------ run-tests
    async def run_tests(self, agent_id: str, request: RunTestsRequest) -> TestInvocation:
        return await self._model(TestInvocation, "POST", f"/v1/convai/agents/{agent_id}/run-tests",
                                 json=_with_full_override(request.to_wire()), what="Running tests")

    async def resubmit_invocation(self, invocation_id: str, test_run_ids: list[str], *, agent_id: str,
                                  branch_id: str | None = None,
                                  agent_config_override: AgentConfigOverride | None = None) -> None:
        """Run the given runs of an invocation again (on ``branch_id``, or with an ad-hoc config); their
        new results show in the same invocation (poll it)."""
        body = ResubmitRequest(test_run_ids=test_run_ids, agent_id=agent_id, branch_id=branch_id,
                               agent_config_override=agent_config_override)
        await self._json("POST", f"/v1/convai/test-invocations/{invocation_id}/resubmit",
                         json=_with_full_override(body.to_wire()), what="Resubmitting test runs")

    async def get_invocation(self, invocation_id: str) -> TestInvocation:
        return await self._model(TestInvocation, "GET", f"/v1/convai/test-invocations/{invocation_id}",
                                 what=f"Getting test invocation {invocation_id}")

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
        await self._json("POST", f"/v1/convai/test-invocations/{invocation_id}/cancel", idempotent=True,
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
        by waiting and polling again; gives up after ``timeout`` seconds.
        """
        interval = initial_interval
        started = time.monotonic()
        last_sig: tuple[str, ...] | None = None
        errors_in_row = 0
        while True:
            try:
                inv = await self.get_invocation(invocation_id)
                errors_in_row = 0
            except (E.APIConnectionError, E.ServerError, E.RateLimitError, E.APIStatusError) as exc:
                if isinstance(exc, E.APIStatusError) and not isinstance(exc, (E.ServerError, E.RateLimitError)) \
                        and exc.status_code not in (None, 408):
                    raise
                errors_in_row += 1
                if errors_in_row > max_consecutive_errors:
                    raise
                await self._sleep(min(max_interval, interval * 2))
                continue
            yield inv
            if inv.is_finished:
                return
            if timeout is not None and time.monotonic() - started > timeout:
                raise E.APITimeoutError(f"Test invocation {invocation_id} still pending after {timeout:.0f} s.")
            sig = tuple(r.status for r in inv.test_runs)
            interval = initial_interval if sig != last_sig else min(max_interval, interval * 1.6)
            last_sig = sig
            await self._sleep(interval)


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
