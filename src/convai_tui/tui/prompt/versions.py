"""The saved prompt versions with their evidence (Enter restores one into the editor).

Each version shows at once; the real calls its prompt served (success rate, from the conversations API's
``version_id`` filter) and its recorded test pass rate arrive from a worker and fill the lines in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ...api.errors import ConvAIError
from ...textutil import one_line
from ...workspace.versions import PromptVersion
from ..widgets.render import when

if TYPE_CHECKING:
    from ...services.matrix import VersionStats
    from ...services.session import Session


class VersionsScreen(ModalScreen[PromptVersion | None]):
    """Pick a saved prompt version (Enter restores it into the editor). With a session and an agent, each
    line gets its live-call success and recorded test pass rate once they are read."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, versions: list[PromptVersion], *, session: Session | None = None,
                 agent_id: str | None = None) -> None:
        super().__init__()
        self.versions = list(reversed(versions))
        self.session, self.agent_id = session, agent_id
        self.stats: dict[int, VersionStats] = {}
        self.stats_state = "none" if session is None or agent_id is None else "loading"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide") as d:
            d.border_title = "Prompt versions"
            yield Label(self._heading(), id="pv-head")
            ol = OptionList(*[Option(self._label(v), id=str(v.number)) for v in self.versions], id="pv-list")
            yield ol
            yield Label(Text("Enter: restore into the editor · Esc: close", style="dim"))

    def _heading(self) -> Text:
        # (the list's border and padding: 2 cells; no_wrap keeps the leading spaces)
        t = Text(f"  {'':<5} {'saved':<11}  {'calls':>6} {'success':>7} {'tests':>7}  message · source",
                 style="bold", no_wrap=True, overflow="ellipsis")
        if self.stats_state == "loading":
            t.append("   (reading live calls…)", style="dim italic")
        elif self.stats_state.startswith("error"):
            t.append(f"   ({self.stats_state})", style="yellow")
        return t

    def _label(self, v: PromptVersion) -> Text:
        t = Text()
        t.append(f"{v.label:<5}", style="bold")
        t.append(f" {when(v.created)[5:]:<11}  ")  # (month-day hour:minute: the year is on the file)
        st = self.stats.get(v.number)
        live = st.live if st else None
        calls = "" if st is None else ("—" if live is None else f"{live.calls:,}{'+' if live.capped else ''}")
        rate = "" if live is None or live.success_rate is None else f"{live.success_rate * 100:.0f}%"
        tests = "" if st is None else (f"{st.tests_passed}/{st.tests_total}" if st.tests_total else "—")
        t.append(f"{calls:>6} ")
        style = "" if live is None or live.success_rate is None else (
            "green" if live.success_rate >= 0.8 else "yellow" if live.success_rate >= 0.5 else "red")
        t.append(f"{rate:>7}", style=style)
        t.append(f" {tests:>7}  ")
        t.append(one_line(v.message or v.draft.prompt, 60), style="dim" if not v.message else "")
        t.append(f" · {one_line(v.source, 28)}", style="cyan dim")
        return t

    def on_mount(self) -> None:
        self.query_one("#pv-list").focus()
        if self.stats_state == "loading":
            self._load_stats()

    @work(exclusive=True, group="version-stats")
    async def _load_stats(self) -> None:
        assert self.session is not None and self.agent_id is not None
        try:
            rows, _remote_only = await self.session.matrix.version_stats(self.agent_id)
        except ConvAIError as exc:
            self.stats_state = "error: live calls not read: " + one_line(str(exc), 60)
        else:
            self.stats = {r.version.number: r for r in rows}
            self.stats_state = "done"
        if not self.is_attached:
            return
        self.query_one("#pv-head", Label).update(self._heading())
        ol = self.query_one("#pv-list", OptionList)
        for v in self.versions:
            ol.replace_option_prompt(str(v.number), self._label(v))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        num = int(event.option.id or 0)
        self.dismiss(next((v for v in self.versions if v.number == num), None))

    def action_cancel(self) -> None:
        self.dismiss(None)
