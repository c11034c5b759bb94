"""Conversations: filtered (and searched) pages, transcripts, feedback, export; the TUI's first page
requested early and the rows last shown (a display cache, see :mod:`.userstate`).

**Export** (:meth:`ConversationsService.export`) writes every matching conversation as a JSON line,
newest first, exactly as a one-page-at-a-time walk of the list would (same lines, same order), but
fetches disjoint windows of start time concurrently:

* The first page (newest first) and the oldest matching call (``sort_direction=asc``, one item) are
  asked for at once. A list that fits in one page is written as it is.
* Otherwise the time between the two is cut into windows ``[lo, hi)`` of whole seconds, newest first,
  each sized from the rows per second seen so far to hold about :data:`WINDOW_ROWS` calls, made only
  as earlier ones are handed to the writer. A window is listed by its own cursor with
  ``call_start_after_unix = lo - 1`` and ``call_start_before_unix = hi`` (rows outside ``[lo, hi)``
  are dropped, whatever the server's reading of "after" and "before", so windows never overlap); the
  first window is the rows of the first page newer than its last row's second, already in hand.
* At most ``concurrency`` requests are in flight (:class:`~.limiter.AdaptiveLimit`: a 429 gives the
  slot back, lowers the limit to what the server took, and is sent again after its ``Retry-After``).
  The writer takes windows in order; at most ``2 x concurrency`` windows are open at a time and each
  buffers at most :data:`WINDOW_BUFFER_PAGES` pages (as JSON lines) before its fetcher waits, so
  memory does not grow with the size of the export.
* ``details``: each conversation is fetched with the same bounded pool, up to ``2 x concurrency``
  ahead of the writer, written in the list's order. The list itself is then walked page by page with
  one page of look-ahead (100 ids feed 100 requests).

``concurrency=1`` is the plain sequential walk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, TextIO

from .. import jsonutil
from .errors import UsageError

if TYPE_CHECKING:
    from ..api.client import ConvAIClient
    from ..api.models import Conversation, ConversationsPage, ConversationSummary
    from .limiter import AdaptiveLimit
    from .session import Session
    from .userstate import CachedRow

DAY = 86400
LIST_PAGE = 100  # the conversation list's page (the TUI's, and the one asked for early)
EXPORT_CONCURRENCY = 8  # requests in flight at most (``--concurrency``)
EXPORT_PAGE = 100  # the API's largest page
WINDOW_ROWS = 1000  # calls a time window is sized to hold
WINDOW_BUFFER_PAGES = 20  # pages a window fetched ahead of the writer may hold before it waits


def parse_time(text: str, now: float | None = None) -> int:
    """``2026-11-01``, an ISO time, unix seconds, or a relative ``7d``/``12h``/``30m``/``2w`` -> unix secs."""
    now = time.time() if now is None else now
    s = text.strip()
    if s.isascii() and s.isdigit():
        return int(s)
    m = re.fullmatch(r"(\d{1,7})\s*([smhdw])", s) if s.isascii() else None
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return int(now - n * {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}[unit])
    try:
        if not s.isascii():
            raise ValueError
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"cannot read the time {text!r}: use YYYY-MM-DD, an ISO time, unix seconds, "
                         "or 7d/12h/30m") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return int(d.timestamp())


@dataclass(frozen=True)
class ConversationFilter:
    """The filters the list and the export take. Only parameters the published API defines are sent."""

    success: str | None = None  # success | failure | unknown
    since_days: int | None = None  # relative: the last N days (the TUI's date filter)
    after: int | None = None  # absolute: start time after (unix secs)
    before: int | None = None  # absolute: start time before
    rating: str | None = None  # rated_high (4-5) | rated_low (1-2)
    search: str | None = None  # the API's full-text search over the conversations (with the filters above)
    branch_id: str | None = None  # the calls a branch served
    version_id: str | None = None  # the calls a version served
    min_duration: int | None = None  # seconds
    max_duration: int | None = None
    tools: tuple[str, ...] = ()  # any of these tools was called
    languages: tuple[str, ...] = ()  # detected main language, any of these
    criteria: tuple[str, ...] = ()  # "criterion_id:result" (success | failure | unknown), all of them
    now: float | None = None  # the clock for since_days (tests and the demo's fixed data)

    @property
    def cache_key(self) -> str:
        """The filters as the display cache keys them (relative dates as chosen, not as computed)."""
        return f"success={self.success};days={self.since_days};after={self.after};before={self.before};" \
               f"rating={self.rating};search={self.search};branch={self.branch_id};version={self.version_id};" \
               f"dur={self.min_duration}-{self.max_duration};tools={self.tools};langs={self.languages};" \
               f"criteria={self.criteria}"

    def params(self) -> dict[str, Any]:
        p: dict[str, Any] = {}
        if self.success:
            p["call_successful"] = self.success
        after = self.after
        if self.since_days:
            rel = int((self.now or time.time()) - self.since_days * DAY)
            after = max(after or rel, rel)
        if after is not None:
            p["call_start_after_unix"] = after
        if self.before is not None:
            p["call_start_before_unix"] = self.before
        if self.rating == "rated_high":
            p["rating_min"] = 4
        elif self.rating == "rated_low":
            p["rating_max"] = 2
        if self.search:
            p["search"] = self.search
        for key, value in (("branch_id", self.branch_id), ("version_id", self.version_id),
                           ("call_duration_min_secs", self.min_duration), ("call_duration_max_secs", self.max_duration)):
            if value is not None:
                p[key] = value
        for key, values in (("tool_names", self.tools), ("main_languages", self.languages),
                            ("evaluation_params", self.criteria)):
            if values:
                p[key] = list(values)
        return p


def _params_key(params: dict[str, Any]) -> tuple[Any, ...]:
    """The parameters as a dict key (list values as tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


class ConversationsService:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._prefetched: dict[tuple[Any, ...], asyncio.Task[ConversationsPage]] = {}

    def _filters(self, f: ConversationFilter | None) -> ConversationFilter:
        f = f or ConversationFilter()
        if f.now is None and self.s.demo_now:
            f = replace(f, now=self.s.demo_now)
        return f

    def filter_for(self, *, failed: bool = False, successful: bool = False, since: str | None = None,
                   until: str | None = None, search: str | None = None, branch_id: str | None = None,
                   version_id: str | None = None, min_duration: int | None = None, max_duration: int | None = None,
                   tools: list[str] | None = None, languages: list[str] | None = None,
                   criteria: list[str] | None = None) -> ConversationFilter:
        """The CLI's filter flags, checked."""
        if failed and successful:
            raise UsageError("--failed and --successful exclude each other")
        if min_duration is not None and max_duration is not None and min_duration > max_duration:
            raise UsageError("--min-duration must not be more than --max-duration")
        for c in criteria or []:
            cid, sep, result = c.partition(":")
            if not sep or not cid.strip() or result not in ("success", "failure", "unknown"):
                raise UsageError(f"--criterion {c!r}: expected CRITERION_ID:RESULT, the result success, failure "
                                 "or unknown (e.g. confirms_booking:failure)")
        now = self.s.demo_now
        after = parse_time(since, now) - 1 if since else None
        before = parse_time(until, now) if until else None
        if after is not None and before is not None and after >= before:
            raise UsageError("--since must be before --until")
        return ConversationFilter(success="failure" if failed else "success" if successful else None,
                                  after=after, before=before, search=(search or "").strip() or None,
                                  branch_id=branch_id or None, version_id=version_id or None,
                                  min_duration=min_duration, max_duration=max_duration,
                                  tools=tuple(t for t in tools or [] if t), languages=tuple(x for x in languages or [] if x),
                                  criteria=tuple(criteria or []))

    async def page(self, agent_id: str | None, *, cursor: str | None = None, page_size: int = 50,
                   filters: ConversationFilter | None = None) -> ConversationsPage:
        params = self._filters(filters).params()
        if cursor is None and self._prefetched:
            task = self._prefetched.pop((agent_id, page_size, _params_key(params)), None)
            if task is not None:
                return await task
        c = await self.s.client()
        return await c.list_conversations(agent_id=agent_id, cursor=cursor, page_size=page_size, **params)

    def prefetch_first_page(self, agent_id: str, *, page_size: int = 50,
                            filters: ConversationFilter | None = None) -> None:
        """Send the request for the first page now, without waiting for its answer; the next
        :meth:`page` with the same arguments (and no cursor) gets that answer. The TUI calls this as
        soon as the client exists when it knows the agent to open, so the first rows cost one round
        trip, concurrent with the agent list. Call within a running event loop, after the session started."""
        from ..timeline import mark

        params = self._filters(filters).params()
        key = (agent_id, page_size, _params_key(params))
        if key in self._prefetched:
            return

        async def fetch() -> ConversationsPage:
            c = await self.s.client()
            return await c.list_conversations(agent_id=agent_id, page_size=page_size, **params)

        mark("first-page-request")
        task = asyncio.ensure_future(fetch())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "exception never retrieved"
        self._prefetched[key] = task

    def discard_prefetched(self) -> None:
        for task in self._prefetched.values():
            task.cancel()
        self._prefetched.clear()

    # ------------------------------------------------------------------ the rows last shown
    def cached_rows(self, agent_id: str, filters: ConversationFilter | None = None
                    ) -> tuple[list[CachedRow], float] | None:
        """The rows last shown for this server, agent and filters, and when (unix time); None if none."""
        from .userstate import read_rows

        return read_rows(self.s.settings.server_key, agent_id, (filters or ConversationFilter()).cache_key)

    def remember_rows(self, agent_id: str, filters: ConversationFilter | None, rows: list[Any]) -> bool:
        """Keep the first rows of a fresh first page (summaries) for the next start. Call off the UI thread."""
        from .userstate import CachedRow, write_rows

        return write_rows(self.s.settings.server_key, agent_id, (filters or ConversationFilter()).cache_key,
                          [CachedRow.of(r) for r in rows])

    async def summaries(self, agent_id: str | None, *, filters: ConversationFilter | None = None,
                   limit: int | None = None) -> list[ConversationSummary]:
        if limit is not None and limit < 0:
            raise UsageError("--limit must be 0 (all) or more")
        c = await self.s.client()
        return [x async for x in c.iter_conversations(agent_id=agent_id, limit=limit or None,
                                                      **self._filters(filters).params())]

    async def get(self, conversation_id: str) -> Conversation:
        return await (await self.s.client()).get_conversation(conversation_id)

    async def feedback(self, conversation_id: str, value: str | None) -> None:
        await (await self.s.client()).send_feedback(conversation_id, value)

    async def export(self, out: TextIO, agent_id: str | None, *, filters: ConversationFilter | None = None,
                     details: bool = False, progress: Callable[[int], None] | None = None,
                     concurrency: int = EXPORT_CONCURRENCY, stats: dict[str, int] | None = None,
                     page_size: int = EXPORT_PAGE, window_rows: int = WINDOW_ROWS) -> int:
        """Write every matching conversation as one JSON line (its summary, or with ``details`` the whole
        conversation) to ``out``, newest first, with at most ``concurrency`` requests in flight and
        bounded memory (see the module doc). Returns how many were written. ``stats`` (optional) gets
        ``requests`` in flight at most, ``refused`` (429s sent again) and ``limit`` (the pool's final size).
        ``page_size`` and ``window_rows`` are for tests."""
        if concurrency < 1:
            raise UsageError("--concurrency must be 1 or more")
        from .limiter import AdaptiveLimit

        f = self._filters(filters)
        c = await self.s.client()
        pool = AdaptiveLimit(concurrency)
        if details:
            lines = self._detail_lines(c, pool, agent_id, f, concurrency, page_size)
        elif concurrency == 1:
            lines = self._sequential_lines(c, agent_id, f, page_size)
        else:
            lines = self._window_lines(c, pool, agent_id, f, concurrency, page_size, window_rows)
        n = 0
        try:
            async for line in lines:
                out.write(line)
                n += 1
                if progress is not None and n % 100 == 0:
                    progress(n)
        finally:
            await lines.aclose()  # stops the fetchers of an export that failed or was interrupted
            if stats is not None:
                stats.update(most_in_flight=pool.most_in_flight, refused=pool.refused, limit=pool.limit)
        if progress is not None:
            progress(n)
        return n

    @staticmethod
    def _line(obj: dict[str, Any]) -> str:
        return jsonutil.dumps(obj) + "\n"

    async def _sequential_lines(self, c: ConvAIClient, agent_id: str | None, f: ConversationFilter,
                                page_size: int) -> AsyncIterator[str]:
        async for summary in c.iter_conversations(agent_id=agent_id, page_size=page_size, **f.params()):
            yield self._line(summary.to_wire())

    async def _detail_lines(self, c: ConvAIClient, pool: AdaptiveLimit, agent_id: str | None,
                            f: ConversationFilter, concurrency: int, page_size: int) -> AsyncIterator[str]:
        """Each listed conversation, fetched in full through ``pool``, up to ``2 x concurrency`` ahead."""
        from ..api.guards import PageGuard

        params = f.params()

        def list_page(cursor: str | None) -> Awaitable[ConversationsPage]:
            return pool.run(lambda: c.list_conversations(agent_id=agent_id, cursor=cursor, page_size=page_size,
                                                         **params))

        async def detail(conversation_id: str) -> str:
            conv = await pool.run(lambda: c.get_conversation(conversation_id))
            return self._line(conv.to_wire())

        ahead: deque[asyncio.Task[str]] = deque()
        next_page: asyncio.Task[ConversationsPage] | None = asyncio.ensure_future(list_page(None))
        guard = PageGuard("Listing conversations")
        try:
            while next_page is not None:
                page = await next_page
                guard.check(len(page.conversations), bool(page.has_more), page.next_cursor)
                more = page.has_more and page.next_cursor
                next_page = asyncio.ensure_future(list_page(page.next_cursor)) if more else None  # one ahead
                for summary in page.conversations:
                    ahead.append(asyncio.ensure_future(detail(summary.conversation_id)))
                    while len(ahead) >= 2 * concurrency:
                        yield await ahead.popleft()
            while ahead:
                yield await ahead.popleft()
        finally:
            for task in [*ahead, *([next_page] if next_page is not None else [])]:
                task.cancel()
            await asyncio.gather(*ahead, *([next_page] if next_page is not None else []), return_exceptions=True)

    async def _window_lines(self, c: ConvAIClient, pool: AdaptiveLimit, agent_id: str | None,
                            f: ConversationFilter, concurrency: int, page_size: int,
                            window_rows: int) -> AsyncIterator[str]:
        """The summaries as JSON lines, newest first, fetched as concurrent time windows (module doc)."""
        from ..api.guards import PageGuard

        params = f.params()

        def list_page(**kw: Any) -> Awaitable[ConversationsPage]:
            return pool.run(lambda: c.list_conversations(agent_id=agent_id, **{**params, **kw}))

        first_t = asyncio.ensure_future(list_page(page_size=page_size))
        oldest_t = asyncio.ensure_future(list_page(page_size=1, sort_direction="asc"))
        try:
            first = await first_t
        except BaseException:
            oldest_t.cancel()
            await asyncio.gather(oldest_t, return_exceptions=True)
            raise
        rows = first.conversations
        if not (first.has_more and first.next_cursor) or not rows:
            oldest_t.cancel()
            await asyncio.gather(oldest_t, return_exceptions=True)
            for s in rows:
                yield self._line(s.to_wire())
            if first.has_more and first.next_cursor:  # an empty page that says there is more: walk it
                async for summary in c.iter_conversations(agent_id=agent_id, page_size=page_size, **params):
                    yield self._line(summary.to_wire())
            return
        oldest = await oldest_t
        if not oldest.conversations:  # gone meanwhile: walk the list as it is now
            async for summary in c.iter_conversations(agent_id=agent_id, page_size=page_size, **params):
                yield self._line(summary.to_wire())
            return
        top = rows[0].start_time_unix_secs
        bottom = oldest.conversations[0].start_time_unix_secs
        last = rows[-1].start_time_unix_secs
        min_span = max(1, (last - bottom) // 2048)  # at most ~2,048 windows, whatever the estimate
        # window 0: the first page's rows newer than its last row's second (every such row is in it)
        for s in rows:
            if s.start_time_unix_secs > last:
                yield self._line(s.to_wire())
        seen = {"rows": sum(1 for s in rows if s.start_time_unix_secs > last), "secs": max(1, top - last)}
        next_hi = last + 1  # the next window ends just above the first page's last second
        done = object()

        class Window:
            def __init__(self, lo: int, hi: int) -> None:
                self.lo, self.hi = lo, hi
                self.pages: asyncio.Queue[Any] = asyncio.Queue(WINDOW_BUFFER_PAGES)
                self.task: asyncio.Task[None] | None = None

        async def fetch(w: Window) -> None:
            guard = PageGuard("Listing conversations")
            cursor: str | None = None
            count = 0
            try:
                while True:
                    page = await list_page(cursor=cursor, page_size=page_size, call_start_after_unix=w.lo - 1,
                                           call_start_before_unix=w.hi)
                    lines = [self._line(s.to_wire()) for s in page.conversations
                             if w.lo <= s.start_time_unix_secs < w.hi]
                    count += len(lines)
                    await w.pages.put(lines)
                    guard.check(len(page.conversations), bool(page.has_more), page.next_cursor)
                    if not page.has_more or not page.next_cursor:
                        break
                    cursor = page.next_cursor
                seen["rows"] += count
                seen["secs"] += w.hi - w.lo
                await w.pages.put(done)
            except BaseException as exc:
                if not isinstance(exc, asyncio.CancelledError):
                    await w.pages.put(exc)
                raise

        def open_window() -> Window | None:
            nonlocal next_hi
            if next_hi <= bottom:
                return None
            density = max(seen["rows"], 1) / seen["secs"]  # rows per second so far
            span = max(min_span, int(window_rows / density))
            w = Window(max(bottom, next_hi - span), next_hi)
            next_hi = w.lo
            w.task = asyncio.ensure_future(fetch(w))
            w.task.add_done_callback(lambda t: t.cancelled() or t.exception())
            return w

        open_windows: deque[Window] = deque()  # the first one is being written
        try:
            while True:
                while len(open_windows) < 2 * concurrency:
                    nw = open_window()
                    if nw is None:
                        break
                    open_windows.append(nw)
                if not open_windows:
                    return
                w = open_windows[0]
                while True:
                    item = await w.pages.get()
                    if item is done:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    for line in item:
                        yield line
                open_windows.popleft()
        finally:
            tasks = [w.task for w in open_windows if w.task is not None]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def export_to_file(self, path: Path, agent_id: str | None, *, filters: ConversationFilter | None = None,
                             details: bool = False, progress: Callable[[int], None] | None = None,
                             concurrency: int = EXPORT_CONCURRENCY, stats: dict[str, int] | None = None) -> int:
        """As :meth:`export`, into ``path``: written to a new, exclusively created temporary file beside it
        (never following a link someone left there) and renamed over ``path`` only once complete."""
        from ..workspace.files import exclusive_output

        with exclusive_output(path) as out:
            return await self.export(out, agent_id, filters=filters, details=details, progress=progress,
                                     concurrency=concurrency, stats=stats)
