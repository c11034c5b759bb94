"""How the headless commands show transcripts, analyses and diffs (as ``Part`` lists for
:class:`~convai_tui.commands.output.Output`, which sanitises every string)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Iterable

from ..workspace.diff import column_width, lay_out_side_by_side
from .output import Output, Part, styled

if TYPE_CHECKING:
    from ..api.models import ConversationAnalysis, TranscriptTurn
    from ..services.prompts import DiffResult

RESULT_STYLE = {"success": "green", "failure": "red", "passed": "green", "failed": "red"}
CONT = " " * 17 + "│ "  # a message's further lines: never mistakable for a turn of their own


def ts(unix: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(unix or 0))


def indented(text: str, prefix: str) -> str:
    """Every line of ``text`` after the first starts with ``prefix``."""
    return ("\n" + prefix).join(text.split("\n"))


def print_turn(out: Output, t: TranscriptTurn, i: int) -> None:
    secs = int(t.time_in_call_secs or 0)
    parts: list[Part] = [f"{i:>4} ", styled(f"{t.role:<6}", "cyan" if t.role == "agent" else "magenta",
                                            single_line=True),
                         f"{secs // 60:02d}:{secs % 60:02d}  ", indented(t.message or "", CONT)]
    for call in t.tool_calls or []:
        parts += ["\n            ", styled(f"⚙ {call.tool_name}({call.params_as_json[:300]})", "yellow",
                                          single_line=True)]
    for r in t.tool_results or []:
        parts += ["\n            ", styled(f"↳ {r.tool_name}: {(r.result_value or '')[:300]}"
                                          + (" (error)" if r.is_error else ""), "red" if r.is_error else "dim",
                                          single_line=True)]
    out.line(*parts)


def print_analysis(out: Output, an: ConversationAnalysis) -> None:
    ok = RESULT_STYLE.get(an.call_successful, "yellow")
    title = [styled(f"  ({an.call_summary_title})", single_line=True)] if an.call_summary_title else []
    out.line("call: ", styled(an.call_successful, ok, single_line=True), *title)
    out.line("summary: ", indented(an.transcript_summary or "", "         "))
    for cid, r in (an.evaluation_criteria_results or {}).items():
        out.line("  ", styled(f"{r.result:<8}", RESULT_STYLE.get(r.result, "yellow"), single_line=True), " ",
                 styled(cid, single_line=True), ": ", indented(r.rationale or "", "             "))
    for did, d in (an.data_collection_results or {}).items():
        value = d.value if isinstance(d.value, str) else json.dumps(d.value, ensure_ascii=False)
        out.line("  data ", styled(did, single_line=True), " = ", styled(value, single_line=True))


def print_unified(out: Output, lines: Iterable[str]) -> None:
    for ln in lines:
        if ln.startswith(("+++", "---")):
            out.line(styled(ln, "bold"))
        elif ln.startswith("@@"):
            out.line(styled(ln, "cyan"))
        elif ln.startswith("+"):
            out.line(styled(ln, "green"))
        elif ln.startswith("-"):
            out.line(styled(ln, "red"))
        else:
            out.line(ln)


def print_side_by_side(out: Output, diff: DiffResult, width: int, context: int | None) -> None:
    from rich.text import Text

    from ..textutil import one_line

    sbs = diff.side_by_side()
    out.line(f"{diff.a_label}  vs  {diff.b_label}: {sbs.added} added, {sbs.removed} removed, "
             f"{sbs.changed} changed lines")
    col = column_width(width)
    for row in lay_out_side_by_side(sbs, width, context):
        if row.left is None or row.right is None:
            out.line(styled("⋯", "dim"))
            continue
        t = Text()
        for side, cell, base in (("l", row.left, "red"), ("r", row.right, "green")):
            if side == "r":
                t.append(f" {row.mark} ")
            t.append(f"{cell.number:>5} " if cell.number else "      ", style="dim")
            # one_line keeps the length of ordinary text, so the word spans still line up
            shown = one_line(cell.text, 10**9)
            piece = Text(shown, style=base if cell.changed else "")
            if len(shown) == len(cell.text):
                for s, e in cell.spans:
                    piece.stylize("reverse", s, e)
            t.append_text(piece)
            if side == "l":
                t.append(" " * max(0, col - len(shown)))
        t.rstrip()
        out.rich(t)


def print_conflict_diffs(out: Output, base_to_remote: list[str], base_to_local: list[str], local_label: str) -> None:
    out.note("\nWhat changed remotely since your pull (base -> remote):")
    for ln in base_to_remote:
        out.note(styled(ln, "green" if ln.startswith("+") else "red" if ln.startswith("-") else ""))
    out.note(f"\nWhat you changed (base -> {local_label}):")
    for ln in base_to_local:
        out.note(styled(ln, "green" if ln.startswith("+") else "red" if ln.startswith("-") else ""))
    out.note("\nResolve: `convai-tui pull` (your versions are kept), merge by hand, then push; or push --force.")
