"""``conversations list|show|export`` and ``agents list``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..services.conversations import ConversationFilter
from ..services.session import Session
from .output import Output, styled
from .render import RESULT_STYLE, print_analysis, print_turn, ts
from .runner import EXIT_OK, run


def _filters(s: Session, args: argparse.Namespace) -> ConversationFilter:
    return s.conversations.filter_for(failed=args.failed, successful=args.successful, since=args.since,
                                      until=args.until, search=getattr(args, "search", None),
                                      branch_id=args.branch_id, version_id=args.version_id,
                                      min_duration=args.min_duration, max_duration=args.max_duration,
                                      tools=args.tool, languages=args.language, criteria=args.criterion)


def cmd_conversations_list(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id_or_none(args.agent)
        # --search is the API's search parameter: it combines with --failed, --since and the rest
        items = await s.conversations.summaries(agent_id, filters=_filters(s, args), limit=args.limit)
        if args.json:
            out.json([c.to_wire() for c in items])
            return EXIT_OK
        for c in items:
            dur = int(c.call_duration_secs or 0)
            out.line(f"{ts(c.start_time_unix_secs)}  ", styled(c.conversation_id, single_line=True),
                     f"  {dur // 60:>3}:{dur % 60:02d}  ",
                     styled(f"{c.call_successful:<7}", RESULT_STYLE.get(c.call_successful, "yellow"), single_line=True),
                     "  ", styled(f"{(c.main_language or '')[:3]:<3}", single_line=True), " ",
                     styled((c.call_summary_title or "")[:60], single_line=True))
        return EXIT_OK

    return run(args, body)


def cmd_conversations_show(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        conv = await s.conversations.get(args.conversation_id)
        if args.json:
            out.json(conv.to_wire())
            return EXIT_OK
        md = conv.metadata
        out.line(styled(conv.conversation_id, "bold", single_line=True), "  ",
                 styled(conv.agent_name or conv.agent_id, single_line=True),
                 f"  {ts(md.start_time_unix_secs)} UTC  {md.call_duration_secs}s  ",
                 styled(conv.status, single_line=True), "  ", styled(md.main_language or "", single_line=True))
        for i, t in enumerate(conv.transcript):
            print_turn(out, t, i)
        if conv.analysis:
            out.blank()
            print_analysis(out, conv.analysis)
        return EXIT_OK

    return run(args, body)


def cmd_conversations_export(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id_or_none(args.agent)
        filters = _filters(s, args)
        started = time.monotonic()
        with out.progress("exporting conversations") as bar:
            def progress(n: int) -> None:
                bar.update(n, f"{n / max(time.monotonic() - started, 1e-6):,.0f}/s")

            stats: dict[str, int] = {}
            if args.out:
                n = await s.conversations.export_to_file(Path(args.out), agent_id, filters=filters,
                                                         details=args.details, progress=progress,
                                                         concurrency=args.concurrency, stats=stats)
            else:
                n = await s.conversations.export(out.raw_stdout, agent_id, filters=filters, details=args.details,
                                                 progress=progress, concurrency=args.concurrency, stats=stats)
        rate = n / max(time.monotonic() - started, 1e-6)
        out.note(f"exported {n:,} conversations ({rate:,.0f}/s)" + (f" to {args.out}" if args.out else ""))
        if stats.get("refused"):
            out.note(f"the server refused {stats['refused']:,} request(s) as too many at once (429): each was sent "
                     f"again after the wait it asked for, with at most {stats['limit']} in flight from then on")
        return EXIT_OK

    return run(args, body)


def cmd_agents_list(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agents = await s.agents.list_all()
        if args.json:
            out.json([a.to_wire() for a in agents])
            return EXIT_OK
        for a in agents:
            out.line(styled(a.agent_id, single_line=True), "\t", styled(a.name, single_line=True), "\t",
                     styled(",".join(a.tags), single_line=True))
        return EXIT_OK

    return run(args, body)
