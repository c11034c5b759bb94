"""Turn API objects into Rich ``Text``: every string from the API goes through
:func:`convai_tui.textutil.safe` and is appended as plain text, never parsed as markup."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import time

from rich.text import Text

from ...textutil import one_line, safe

if TYPE_CHECKING:
    from ...api.models import ConversationAnalysis, TranscriptTurn

ROLE_STYLE = {"agent": "bold cyan", "user": "bold magenta"}
RESULT_STYLE = {"success": "bold green", "failure": "bold red", "unknown": "yellow",
                "passed": "bold green", "failed": "bold red", "pending": "yellow", "cancelled": "dim"}
RESULT_ICON = {"success": "✓", "failure": "✗", "unknown": "?", "passed": "✓", "failed": "✗", "pending": "…",
               "cancelled": "–"}


def mmss(secs: int | float | None) -> str:
    s = int(secs or 0)
    return f"{s // 60:02d}:{s % 60:02d}"


def when(unix: int | float | None) -> str:
    if not unix:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(unix))


def short_when(unix: int | float | None) -> str:
    """MM-DD HH:MM (UTC): for table cells, where the year is noise."""
    if not unix:
        return "—"
    return time.strftime("%m-%d %H:%M", time.gmtime(unix))


def result_text(value: str | None, label: str | None = None) -> Text:
    v = value or "unknown"
    return Text(f"{RESULT_ICON.get(v, '?')} {label if label is not None else safe(v)}",
                style=RESULT_STYLE.get(v, ""))


def _pretty_params(params: str) -> str:
    try:
        return json.dumps(json.loads(params), ensure_ascii=False)
    except (ValueError, TypeError):
        return params


def turn_text(turn: TranscriptTurn, index: int | None = None, *, width_hint: int | None = None) -> Text:
    """One transcript turn: role and time, the message, tool calls and results."""
    t = Text(no_wrap=False)
    if index is not None:
        t.append(f"{index:>4} ", style="dim")
    role = safe(turn.role)
    t.append(f"{role:<6}", style=ROLE_STYLE.get(turn.role, "bold"))
    t.append(f" {mmss(turn.time_in_call_secs)}  ", style="dim")
    if turn.message:
        t.append(safe(turn.message))
    if turn.interrupted:
        t.append("  (interrupted)", style="italic dim")
    for call in turn.tool_calls or []:
        t.append("\n        ⚙ ", style="yellow")
        t.append(safe(call.tool_name), style="bold yellow")
        t.append("(" + safe(_pretty_params(call.params_as_json), limit=400) + ")", style="yellow")
    for res in turn.tool_results or []:
        t.append("\n        ↳ ", style="red" if res.is_error else "green")
        t.append(safe(res.tool_name) + ": ", style="dim")
        t.append(safe(res.result_value, limit=400), style="red" if res.is_error else "")
        if res.is_error:
            t.append("  (error)", style="bold red")
    if turn.feedback:
        t.append(f"  [{safe(turn.feedback.score)}]", style="dim")
    return t


def analysis_text(an: ConversationAnalysis | None) -> Text:
    t = Text()
    if an is None:
        t.append("No analysis yet.", style="dim")
        return t
    t.append("Call: ")
    t.append_text(result_text(an.call_successful))
    if an.call_summary_title:
        t.append("  ·  " + one_line(an.call_summary_title, 80), style="bold")
    t.append("\n")
    if an.transcript_summary:
        t.append(safe(an.transcript_summary) + "\n", style="italic")
    for cid, r in (an.evaluation_criteria_results or {}).items():
        t.append("  ")
        t.append_text(result_text(r.result, one_line(cid, 40)))
        t.append(" — " + safe(r.rationale) + "\n", style="dim")
    for did, d in (an.data_collection_results or {}).items():
        t.append(f"  • {one_line(did, 40)} = ", style="bold")
        t.append(safe(json.dumps(d.value, ensure_ascii=False) if not isinstance(d.value, str) else d.value))
        t.append(f"  ({safe(d.rationale)})\n", style="dim")
    return t
