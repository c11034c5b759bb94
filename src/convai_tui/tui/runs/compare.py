"""Two runs compared. Test runs: per test, the pass rate in A and in B with counts, the change, a
verdict (newly failing, fixed, still failing, flaky, passing), and whether a difference is within noise
for that many repeats (Fisher's exact test). Simulation runs: the two transcripts aligned turn by turn,
the analyses and each criterion side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...textutil import one_line, safe
from ..widgets.pairview import PairView
from ..widgets.render import ROLE_STYLE, result_text
from ..widgets.status import StatusLine
from ..widgets.vtable import Column, VirtualTable

if TYPE_CHECKING:
    from ...services.runs import RunView
    from ...services.session import Session

VERDICT_STYLE = {"newly failing": "bold red", "still failing": "red", "flaky": "yellow", "fixed": "bold green",
                 "passing": "green", "new": "cyan", "removed": "dim"}


def _side(label: str, v: RunView) -> Text:
    h = v.header
    t = Text()
    t.append(f"{label} ", style="bold reverse")
    t.append(f" {h.created.replace('T', ' ')[:16]}  ")
    t.append(one_line(h.target_label, 60), style="bold")
    t.append(f"  ·  {h.id}", style="dim")
    return t


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", tooltip="Back to the history")]

    def __init__(self, session: Session, a: RunView, b: RunView) -> None:
        super().__init__()
        self.session = session
        self.a, self.b = a, b
        self.simulation = a.header.kind == "simulation"
        self.comparison = None if self.simulation else session.runs.compare(a, b)

    def compose(self) -> ComposeResult:
        yield Static(Text("\n").join([_side("A", self.a), _side("B", self.b)]), id="cmp-header")
        if self.simulation:
            yield PairView(id="cmp-pairs")
            yield Static("", id="cmp-analysis")
        else:
            yield VirtualTable(id="cmp-table")
        yield StatusLine("", id="cmp-status")
        yield Footer()

    def on_mount(self) -> None:
        if self.simulation:
            self._simulations()
            return
        cmp = self.comparison
        assert cmp is not None
        table = self.query_one(VirtualTable)
        table.set_columns([Column("test", "Test"), Column("a", "A", 7), Column("b", "B", 7),
                           Column("change", "Change", 7), Column("verdict", "Verdict", 16), Column("note", "Noise", 26)])
        rows = []
        for r in cmp.rows:
            sa = f"{r.a[0]}/{r.a[1]}" if r.a else "—"
            sb = f"{r.b[0]}/{r.b[1]}" if r.b else "—"
            change = "" if r.change is None else f"{r.change * 100:+.0f}%"
            verdict = r.verdict + (" ·flaky" if r.flaky and r.verdict != "flaky" else "")
            note = (f"within noise (p={r.p_value:.2f})" if r.within_noise else
                    f"p={r.p_value:.3f}" if r.p_value is not None and r.change else "")
            rows.append((r.test_id, [Text(one_line(r.name, 80)), Text(sa), Text(sb),
                                     Text(change, style="red" if (r.change or 0) < 0 else "green" if r.change else ""),
                                     Text(verdict, style=VERDICT_STYLE.get(r.verdict, "")), Text(note, style="dim")]))
        table.add_rows(rows)
        counts = ", ".join(f"{n} {k}" for k, n in cmp.by_verdict().items())
        regs = cmp.regressions()
        status = Text(counts + ". ")
        status.append(f"{len(regs)} regression(s)" if regs else "no regression", style="bold red" if regs else "bold green")
        status.append("  (noise: Fisher's exact test, p ≥ 0.05)", style="dim")
        self.query_one("#cmp-status", StatusLine).update(status)
        table.focus()

    def _simulations(self) -> None:
        runs = self.session.runs
        fa, fb = runs.load(self.a.header), runs.load(self.b.header)
        n = max(len(fa.turns), len(fb.turns))
        rows: list[tuple[Text | None, Text | None]] = []
        for i in range(n):
            rows.append((_turn(fa.turns[i], i) if i < len(fa.turns) else None,
                         _turn(fb.turns[i], i) if i < len(fb.turns) else None))
        view = self.query_one(PairView)
        view.set_rows(rows)
        t = Text()
        t.append("Call  A ", style="bold")
        t.append_text(result_text(self.a.header.call_successful))
        t.append("    B ", style="bold")
        t.append_text(result_text(self.b.header.call_successful))
        ca, cb = self.a.header.criteria, self.b.header.criteria
        for cid in sorted(set(ca) | set(cb)):
            ra, rb = result_text(ca.get(cid, "unknown")), result_text(cb.get(cid, "unknown"))
            t.append(f"\n  {one_line(cid, 28):<28}  A ")
            t.append_text(ra)
            t.append(" " * max(1, 12 - ra.cell_len) + "B ")
            t.append_text(rb)
            if ca.get(cid) != cb.get(cid):
                t.append("   ← differs", style="bold yellow")
        self.query_one("#cmp-analysis", Static).update(t)
        self.query_one("#cmp-status", StatusLine).update(
            f"{len(fa.turns)} turns (A) · {len(fb.turns)} turns (B) · scenario {one_line(self.a.header.scenario or '?', 40)}")
        view.focus()


def _turn(t: dict[str, Any], i: int) -> Text:
    role = str(t.get("role") or "?")
    out = Text()
    out.append(f"{i:>3} ", style="dim")
    out.append(f"{one_line(role, 6):<6} ", style=ROLE_STYLE.get(role, "bold"))
    out.append(safe(str(t.get("message") or "")))
    for c in t.get("tool_calls") or []:
        if isinstance(c, dict):
            out.append(f"\n    ⚙ {one_line(c.get('tool_name', '?'), 40)}({one_line(c.get('params_as_json', ''), 200)})",
                       style="yellow")
    return out
