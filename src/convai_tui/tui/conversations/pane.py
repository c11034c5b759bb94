"""The Conversations pane: a lazily paged table of an agent's calls, filters, message search.

Pages are fetched by cursor as the list is scrolled; the table holds at most :data:`KEEP_ROWS` rows
(pages far from the viewport are evicted and fetched again by their cursor on return: see
:class:`~..widgets.vtable.VirtualTable`). On start, the rows last shown for the agent (a per-user
display cache, :mod:`convai_tui.services.userstate`) are shown at once, dimmed and marked as cached,
until the fresh first page replaces them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from ...api.errors import ConvAIError, NotFoundError, PaginationError
from ...api.guards import PageGuard
from ...services.conversations import LIST_PAGE, ConversationFilter
from ...textutil import one_line
from ...timeline import mark
from ..widgets.loading import loaded
from ..messages import OpenTranscript
from ..widgets.fields import Field
from ..widgets.render import mmss, result_text, short_when
from ..widgets.status import StatusLine
from ..widgets.vtable import Column, VirtualTable

if TYPE_CHECKING:
    import asyncio

    from ...api.models import ConversationSummary
    from ...services.session import Session
    from ...services.userstate import CachedRow

PAGE = LIST_PAGE
PREFETCH_ROWS = 30  # keep this many rows loaded beyond the viewport
KEEP_ROWS = 3000  # rows held at most; farther pages are fetched again when scrolled back to

SUCCESS_OPTIONS = [("Any result", ""), ("Successful", "success"), ("Failed", "failure"), ("Unknown", "unknown")]
DATE_OPTIONS = [("Any date", 0), ("Last 24 h", 1), ("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90)]
RATING_OPTIONS = [("Any rating", ""), ("Rated 4-5", "rated_high"), ("Rated 1-2", "rated_low")]

FEEDBACK_CELL = {"like": Text("▲ up", style="green"), "dislike": Text("▼ down", style="red")}


class ConversationsPane(Vertical):
    ALLOW_MAXIMIZE = False  # zoom maximizes the pane's frame
    BINDINGS = [
        Binding("slash", "focus_search", "Search", key_display="/",
                tooltip="Search the conversations (combines with the filters; Enter searches, ↓ goes to the results)"),
        Binding("f", "cycle_success", "Filter", tooltip="Cycle the result filter (any, successful, failed, unknown)"),
        Binding("ctrl+r", "refresh", "Refresh", tooltip="Reload the list"),
        Binding("down", "results", "Results", show=False, tooltip="From the search box: to the results"),
    ]

    def __init__(self, session: Session, first_rows: asyncio.Event,
                 cached: tuple[str, list[CachedRow], float] | None = None, **kw: Any) -> None:
        """``cached``: (agent id, rows, when saved) to show until the fresh first page arrives."""
        super().__init__(**kw)
        self.session = session
        self._cached = cached
        self.first_rows = first_rows  # set once the first page is in (or failed): start-up waits on it
        self.agent_id: str | None = None
        self.cursor: str | None = None
        self.has_more = False
        # A page request is in flight. (Not `loading`: that is Textual's own reactive, and setting
        # it covered the whole pane with a spinner on every page fetched while scrolling.)
        self.fetching = False
        self.search_text = ""
        self.generation = 0  # bumps on every reset: stale pages are dropped
        self.loaded = 0
        self._guard = PageGuard("Listing conversations")
        self._filters_mounted = False
        self._filters_mounting = False
        self._focus_results = False
        self._applied = ConversationFilter()  # the filters the rows on screen were loaded with

    def compose(self) -> ComposeResult:
        # The filter row's controls (a search box and three Selects: 16 widgets of this pane's 20)
        # are mounted just after the first page of rows is on screen (see mount_filters); their
        # row is there from the start, so nothing moves when they arrive.
        yield Horizontal(classes="filters", id="conv-filters")
        yield VirtualTable(id="conv-table", max_loaded_rows=KEEP_ROWS)
        yield StatusLine("Waiting for the API…", id="conv-status")

    @property
    def filters_mounted(self) -> bool:
        return self._filters_mounted

    async def mount_filters(self) -> None:
        """Mount the search box and the filter Selects (idempotent). The app calls this right
        after the first rows are painted, or after a moment when the API is slow."""
        if self._filters_mounting:
            return
        self._filters_mounting = True
        await self.query_one("#conv-filters", Horizontal).mount_all([
            Field(placeholder="/ Search…", id="conv-search", compact=True),
            Select(SUCCESS_OPTIONS, value="", allow_blank=False, id="conv-success", compact=True),
            Select(DATE_OPTIONS, value=0, allow_blank=False, id="conv-date", compact=True),
            Select(RATING_OPTIONS, value="", allow_blank=False, id="conv-rating", compact=True),
        ])
        # Only now: until a Select has mounted, its value reads as blank (a list reloaded in
        # between asked the API for "the last <blank> days" and crashed the app).
        self._filters_mounted = True

    def on_mount(self) -> None:
        self._set_columns()
        if self._cached is None:
            self.table.loading = True
            return
        agent_id, rows, saved = self._cached
        import time

        self.agent_id = agent_id
        self.table.stale = True
        self.table.add_rows((r.conversation_id, list(self._row(r))) for r in rows)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved))
        self.query_one("#conv-status", Label).update(
            Text.assemble(("cached ", "bold black on yellow"), f" {len(rows):,} conversations as shown {when}; "
                                                               "refreshing…"))
        self.call_after_refresh(mark, "cached-rows-painted")

    @property
    def showing_cached(self) -> bool:
        """The rows on screen are the display cache's (the fresh first page has not replaced them yet)."""
        return self.table.stale

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#conv-table", VirtualTable)

    def focus_home(self) -> Widget:
        return self.table

    def _set_columns(self) -> None:
        self.table.set_columns([Column("start", "Start", 11), Column("dur", "Dur", 5), Column("result", "Result", 9),
                                Column("title", "Title"), Column("lang", "Lang", 4), Column("feedback", "Rating", 6)])

    # ------------------------------------------------------------------ loading
    def filters(self) -> ConversationFilter:
        search = self.search_text or None
        if not self._filters_mounted:
            return ConversationFilter(search=search)  # the Selects' defaults: any result, any date, any rating
        def value(wid: str) -> Any:
            v = self.query_one(wid, Select).value
            return None if v is Select.NULL else v or None

        return ConversationFilter(success=value("#conv-success"), since_days=value("#conv-date"),
                                  rating=value("#conv-rating"), search=search)

    def load_agent(self, agent_id: str) -> None:
        if self.agent_id == agent_id and (self.loaded or self.fetching):
            return
        self.agent_id = agent_id
        self.reset()

    def reset(self) -> None:
        if self.agent_id is None:
            return
        self.generation += 1
        self._applied = self.filters()
        self.cursor = None
        self.has_more = True
        self.fetching = False
        self.loaded = 0
        self._guard = PageGuard("Listing conversations")  # a list that never ends stops here, not in a loop
        keep = self.showing_cached and self._cached is not None and self._cached[0] == self.agent_id \
            and self._applied == ConversationFilter()
        if not keep:  # the cached rows stay up (dimmed) until the fresh page replaces them
            self.table.stale = False
            self.table.clear()
            self.table.loading = True
        self.fetch_page()

    @work(group="conv-page")
    async def fetch_page(self) -> None:
        if self.agent_id is None or self.fetching or not self.has_more:
            return
        self.fetching = True
        gen = self.generation
        agent_id = self.agent_id
        status = self.query_one("#conv-status", Label)
        if not self.showing_cached:  # (that status line says it is refreshing)
            status.update(f"Loading… ({self.loaded:,} loaded)")
        first = not self.first_rows.is_set()
        if first:
            mark("first-page-request")
        try:
            page = await self.session.conversations.page(agent_id, cursor=self.cursor, page_size=PAGE,
                                                         filters=self._applied)
            items = page.conversations
        except ConvAIError as exc:
            if gen == self.generation and self.is_mounted:
                self.fetching = False
                loaded(self.table)
                status.update(Text(f"Error: {exc}" + (" (the rows shown are cached)" if self.showing_cached else ""),
                                   style="red"))
                if not (first and isinstance(exc, NotFoundError)):  # an agent that is gone: the app says so
                    self.app.notify(str(exc), title="Conversations", severity="error", markup=False)
            self.first_rows.set()
            return
        if first:
            mark("first-page-received")
        if gen != self.generation or not self.is_mounted:
            return  # the filters changed (or the app closed) while this page was in flight
        loaded(self.table)
        # the table could not take focus while it was covered (but not if another pane is in front now);
        # after a search it takes focus once the results are in
        if (self._focus_results and self.app.focused is not None and self.app.focused.id == "conv-search") or (
                self.screen.focused is None
                and all(n.display for n in self.ancestors_with_self if isinstance(n, Widget))):
            self.table.focus()
        self._focus_results = False
        token = self.cursor  # what fetches this page again
        if self.cursor is None and self.table.stale:
            self.table.replace_rows(self._rows_of(items), token=token)  # the fresh page for the cached one
        else:
            self.table.add_rows(self._rows_of(items), token=token)
        if self.cursor is None and self.agent_id is not None and self._applied.search is None:
            self._remember_rows(self.agent_id, self._applied, items)
        self.cursor = page.next_cursor
        self.has_more = bool(page.has_more and page.next_cursor)
        self.fetching = False
        self.loaded += len(items)
        try:
            self._guard.check(len(items), page.has_more, page.next_cursor)
        except PaginationError as exc:  # a repeated cursor, or empty pages that say there is more
            self.has_more = False
            self.first_rows.set()
            status.update(Text(f"{self.table.row_count:,} conversations; stopped: {one_line(str(exc), 200)}",
                               style="red"))
            self.app.notify(str(exc), title="Conversations", severity="error", markup=False)
            return
        more = " · scroll for more" if self.has_more else ""
        what = "conversations"
        if self._applied.search:
            what += f" matching “{one_line(self._applied.search, 30)}”"
        status.update(f"{self.loaded:,} {what}{more}" if self.loaded else f"No {what}.")
        if first:
            self.call_after_refresh(mark, "first-rows-painted")
        self.first_rows.set()
        # keep the viewport full: fetch again if the table is still short
        if self.has_more and self.table.row_count < self.table.size.height + PREFETCH_ROWS:
            self.fetch_page()

    def _rows_of(self, items: list[Any]) -> list[tuple[str, list[Any]]]:
        return [(c.conversation_id, list(self._row(c))) for c in items]

    @work(group="conv-cache")
    async def _remember_rows(self, agent_id: str, filters: ConversationFilter, items: list[Any]) -> None:
        """Keep this first page for the next start (a small per-user file, written off the UI thread)."""
        import asyncio

        await asyncio.to_thread(self.session.conversations.remember_rows, agent_id, filters, items)

    @on(VirtualTable.NeedRows, "#conv-table")
    def _need_rows(self, event: VirtualTable.NeedRows) -> None:
        self.refetch(event.block, event.token)

    @work(group="conv-refetch")
    async def refetch(self, block: int, cursor: Any) -> None:
        """Fetch an evicted page again by the cursor it was fetched with (its token)."""
        gen, agent_id = self.generation, self.agent_id
        if agent_id is None:
            return
        try:
            page = await self.session.conversations.page(agent_id, cursor=cursor, page_size=PAGE,
                                                         filters=self._applied)
        except ConvAIError as exc:
            if gen == self.generation and self.is_mounted:
                self.table.fill_failed(block)
                self.query_one("#conv-status", Label).update(Text(f"Error: {exc}", style="red"))
            return
        if gen == self.generation and self.is_mounted:
            self.table.fill_block(block, self._rows_of(page.conversations))

    @staticmethod
    def _row(c: ConversationSummary | CachedRow) -> tuple[Any, ...]:
        fb = c.extra_fields.get("feedback")
        if fb in FEEDBACK_CELL:
            feedback: Any = FEEDBACK_CELL[fb]
        elif c.rating is not None:
            feedback = Text("★" * int(c.rating), style="yellow")
        else:
            feedback = Text("")
        result = result_text(c.call_successful) if c.status == "done" else result_text(
            "unknown", one_line(c.status, 10))
        return (short_when(c.start_time_unix_secs), mmss(c.call_duration_secs), result,
                Text(one_line(c.call_summary_title or "", 60)), Text(one_line(c.main_language or "", 4)), feedback)

    def set_feedback(self, conversation_id: str, value: str | None) -> None:
        if self.table.index.get(conversation_id, -1) < 0:
            return
        self.table.update_cell(conversation_id, "feedback", FEEDBACK_CELL.get(value or "", Text("")))

    # ------------------------------------------------------------------ events
    @on(VirtualTable.NeedMore)
    def _need_more(self) -> None:
        if self.has_more and not self.fetching:
            self.fetch_page()

    @on(VirtualTable.Selected, "#conv-table")
    def _selected(self, event: VirtualTable.Selected) -> None:
        # the transcript opens with the list's search term highlighted (n/N: its hits)
        self.post_message(OpenTranscript(event.key, None, search=self._applied.search or ""))

    @on(Select.Changed)
    def _filter_changed(self, event: Select.Changed) -> None:
        # A Select also reports its initial value when it mounts: only a real change reloads.
        if event.select.id in ("conv-success", "conv-date", "conv-rating") and self.agent_id is not None \
                and self.filters() != self._applied:
            self.reset()

    @on(Input.Submitted, "#conv-search")
    def _search(self, event: Input.Submitted) -> None:
        self.search_text = event.value.strip()
        if self.filters() != self._applied:
            self.reset()
            self._focus_results = True  # the results take focus when they arrive (the table is covered now)
        else:
            self.table.focus()

    def action_focus_search(self) -> None:
        if self._filters_mounted:
            self.query_one("#conv-search", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "results":  # ↓ from the search box (elsewhere ↓ is the focused widget's)
            return self.app.focused is not None and self.app.focused.id == "conv-search"
        return True

    def action_results(self) -> None:
        self.table.focus()

    def action_cycle_success(self) -> None:
        if not self._filters_mounted:
            return
        sel = self.query_one("#conv-success", Select)
        values = [v for _, v in SUCCESS_OPTIONS]
        sel.value = values[(values.index(sel.value) + 1) % len(values)]

    def action_refresh(self) -> None:
        self.reset()
