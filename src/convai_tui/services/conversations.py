"""Conversations: filtered (and searched) pages, transcripts, feedback, export."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, TextIO

from .. import jsonutil
from .errors import UsageError

if TYPE_CHECKING:
    from ..api.models import Conversation, ConversationsPage, ConversationSummary
    from .session import Session

DAY = 86400


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
    now: float | None = None  # the clock for since_days (tests and the demo's fixed data)

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
        return p


class ConversationsService:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _filters(self, f: ConversationFilter | None) -> ConversationFilter:
        f = f or ConversationFilter()
        if f.now is None and self.s.demo_now:
            f = replace(f, now=self.s.demo_now)
        return f

    def filter_for(self, *, failed: bool = False, successful: bool = False, since: str | None = None,
                   until: str | None = None, search: str | None = None) -> ConversationFilter:
        """The CLI's filter flags, checked."""
        if failed and successful:
            raise UsageError("--failed and --successful exclude each other")
        now = self.s.demo_now
        after = parse_time(since, now) - 1 if since else None
        before = parse_time(until, now) if until else None
        if after is not None and before is not None and after >= before:
            raise UsageError("--since must be before --until")
        return ConversationFilter(success="failure" if failed else "success" if successful else None,
                                  after=after, before=before, search=(search or "").strip() or None)

    async def page(self, agent_id: str | None, *, cursor: str | None = None, page_size: int = 50,
                   filters: ConversationFilter | None = None) -> ConversationsPage:
        c = await self.s.client()
        return await c.list_conversations(agent_id=agent_id, cursor=cursor, page_size=page_size,
                                          **self._filters(filters).params())

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
                     details: bool = False, progress: Callable[[int], None] | None = None) -> int:
        """Write every matching conversation as one JSON line (its summary, or with ``details`` the whole
        conversation) to ``out``, page by page in constant memory. Returns how many were written."""
        n = 0
        async for obj in self._export_rows(agent_id, self._filters(filters), details):
            out.write(jsonutil.dumps(obj) + "\n")
            n += 1
            if progress is not None and n % 100 == 0:
                progress(n)
        if progress is not None:
            progress(n)
        return n

    async def _export_rows(self, agent_id: str | None, f: ConversationFilter,
                           details: bool) -> AsyncIterator[dict[str, Any]]:
        c = await self.s.client()
        async for summary in c.iter_conversations(agent_id=agent_id, page_size=100, **f.params()):
            yield (await c.get_conversation(summary.conversation_id)).to_wire() if details else summary.to_wire()

    async def export_to_file(self, path: Path, agent_id: str | None, *, filters: ConversationFilter | None = None,
                             details: bool = False, progress: Callable[[int], None] | None = None) -> int:
        """As :meth:`export`, into ``path``: written to a new, exclusively created temporary file beside it
        (never following a link someone left there) and renamed over ``path`` only once complete."""
        from ..workspace.files import exclusive_output

        with exclusive_output(path) as out:
            return await self.export(out, agent_id, filters=filters, details=details, progress=progress)
