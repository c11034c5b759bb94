"""``pull``, ``push``, ``diff``, ``versions``, ``branches``: parse -> services -> print."""

from __future__ import annotations

import argparse
import shutil

from ..services.prompts import DiffResult, PushConflict
from ..services.session import Session
from .output import Output, styled
from .render import print_conflict_diffs, print_side_by_side, print_unified, ts
from .runner import EXIT_CONFLICT, EXIT_OK, run, warn_problems


def cmd_pull(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        res = await s.prompts.pull(args.agent_id, branch=args.branch, with_tests=not args.no_tests,
                                   history=args.history)
        warn_problems(s, out)
        if args.json:
            out.json({"agent_id": res.agent_id, "branch_id": res.branch_id, "branch": res.branch_name,
                      "remote_version_id": res.remote_version_id,
                      "saved_version": res.version.number if res.version else None,
                      "history_versions": [v.number for v in res.history],
                      "tests_written": res.tests_written, "tests_kept": res.tests_kept})
            return EXIT_OK
        saved = f" -> saved as v{res.version.number}" if res.version else " (already the latest version)"
        for v in res.history:
            out.line(f"  history: {v.label} ", styled(v.message, "dim", single_line=True))
        out.line(f"pulled {res.agent_id} ({res.branch_name}, {res.remote_version_id or 'no version id'}){saved}")
        for t in res.tests_written:
            out.line(f"  test: {t}")
        for t in res.tests_kept:
            out.line(f"  kept: {t}")
        return EXIT_OK

    return run(args, body)


def cmd_push(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        from ..services.errors import UsageError

        agent_id = s.agent_id(args.agent)
        if args.create_branch and not args.branch:
            raise UsageError("--create-branch needs --branch NAME")
        label, local = s.prompts.push_source(agent_id, version=args.version, draft=args.draft)
        try:
            res = await s.prompts.push(agent_id, local, label=label, branch=None if args.create_branch else args.branch,
                                       create_branch=args.branch if args.create_branch else None,
                                       message=args.message, force=args.force, record_version=args.draft)
        except PushConflict as c:
            out.error(str(c))
            print_conflict_diffs(out, DiffResult("base (last pull)", f"remote ({c.remote_version})", c.base,
                                                 c.remote).unified(),
                                 DiffResult("base (last pull)", label, c.base, c.local).unified(), label)
            return EXIT_CONFLICT
        recorded = f" (kept as v{res.version.number})" if res.version and args.draft else ""
        if args.json:
            out.json({"agent_id": agent_id, "pushed": res.pushed, "branch_id": res.branch_id,
                      "branch": res.branch_name, "version_id": res.version_id,
                      "local_version": res.version.number if res.version else None,
                      "created_branch": res.created_branch, "forced": res.forced})
        else:
            out.line(f"pushed {res.pushed}{recorded} to {agent_id} (branch {res.branch_name}) -> {res.version_id}"
                     + (" (forced)" if res.forced else ""))
        return EXIT_OK

    return run(args, body)


def cmd_diff(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        b = args.b
        if b is None:
            if s.prompts.has_draft(agent_id):
                b = "draft"
            else:
                b = "latest"
                out.note(f"no draft ({s.workspace.draft_path(agent_id)} does not exist): comparing with the latest "
                         "version")
        diff = s.prompts.diff(agent_id, args.a, b)
        warn_problems(s, out)
        if diff.a == diff.b:
            out.line(f"{diff.a_label} and {diff.b_label} are identical")
        elif args.side_by_side:
            width = args.width or shutil.get_terminal_size((160, 40)).columns
            print_side_by_side(out, diff, width, context=args.context)
        else:
            print_unified(out, diff.unified(context=args.context))
        if args.results:
            _print_results(s, out, agent_id, diff)
        return EXIT_OK

    return run(args, body)


def _print_results(s: Session, out: Output, agent_id: str, diff: DiffResult) -> None:
    """What the change did: per test, the recorded pass rate of each side, and which changed verdict."""
    from .matrix import cell_text

    rows = s.matrix.results_for(agent_id, diff.a, diff.b)
    out.blank()
    if not rows:
        out.line(styled("No recorded test runs of either prompt yet: `convai-tui matrix --targets ... --fill` or "
                        "`convai-tui test --version N` make some.", "dim"))
        return
    out.line(styled(f"{'TEST':<40} {diff.a_label[:10]:>10} {diff.b_label[:10]:>10}  WHAT CHANGED", "bold",
                    single_line=True))
    for name, a, b, what in rows:
        ta, sa = cell_text(a)
        tb, sb = cell_text(b)
        out.line(styled(f"{name[:40]:<40}", single_line=True), " ", styled(f"{ta:>10}", sa), " ",
                 styled(f"{tb:>10}", sb), "  ", styled(what, {"now fails": "bold red", "now passes": "bold green"}
                                                       .get(what, "dim")))


def cmd_versions(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        if args.number is not None:
            v = s.prompts.version(agent_id, args.number)
            warn_problems(s, out)
            if args.json:
                d = v.draft
                out.json({"number": v.number, "prompt": d.prompt, "first_message": d.first_message, "llm": d.llm,
                          "temperature": d.temperature, "message": v.message, "source": v.source})
            else:
                from ..workspace.versions import draft_text

                out.line(draft_text(v.draft))
            return EXIT_OK
        versions = s.prompts.versions(agent_id)
        warn_problems(s, out)
        if args.stats:
            return await _versions_stats(s, out, agent_id, args.json)
        if args.json:
            out.json([{"number": v.number, "created": v.created, "message": v.message, "source": v.source}
                      for v in versions])
            return EXIT_OK
        for v in versions:
            out.line(styled(f"v{v.number:<4}", "bold"), f" {ts(int(v.created))}  ",
                     styled(f"{v.source:<28}", "cyan", single_line=True), " ", styled(v.message, single_line=True))
        return EXIT_OK

    return run(args, body)


async def _versions_stats(s: Session, out: Output, agent_id: str, as_json: bool) -> int:
    """Each saved version beside the evidence: real calls it served (success, each criterion) and its
    recorded test pass rate; then remote versions that served calls but are not saved here."""
    from ..services.matrix import STATS_MAX_CALLS

    rows, remote_only = await s.matrix.version_stats(agent_id)
    if as_json:
        out.json({"versions": [r.to_json() for r in rows], "remote_only": [e.to_json() for e in remote_only]})
        return EXIT_OK
    out.line(styled(f"{'VERSION':<8} {'CALLS':>7} {'SUCCESS':>8} {'TESTS':>9}  CRITERIA (live)  ·  MESSAGE", "bold"))
    for r in rows:
        live = r.live
        calls = "—" if live is None else f"{live.calls:,}{'+' if live.capped else ''}"
        rate = "" if live is None or live.success_rate is None else f"{live.success_rate * 100:.0f}%"
        tests_rate = f"{r.tests_passed}/{r.tests_total}" if r.tests_total else "—"
        crit = "" if live is None else "  ".join(f"{k} {a * 100 // b if b else 0}%" for k, (a, b) in
                                               sorted(live.criteria.items()))
        out.line(styled(f"{r.version.label:<8}", "bold"), f" {calls:>7} {rate:>8} {tests_rate:>9}  ",
                 styled(crit, single_line=True), styled(f"  ·  {r.version.message}", "dim", single_line=True))
    for e in remote_only:
        rate = "" if e.success_rate is None else f"{e.success_rate * 100:.0f}%"
        out.line(styled(f"{'remote':<8}", "dim"), f" {e.calls:>7,} {rate:>8} {'—':>9}  ",
                 styled(f"{e.version_id} ({e.branch}, not saved here: pull --history)  {e.description}", "dim",
                        single_line=True))
    out.line(styled("CALLS: real conversations each version served (GET conversations?version_id=, newest "
                    f"{STATS_MAX_CALLS:,} read); TESTS: recorded test results of that prompt", "dim"))
    return EXIT_OK


def cmd_branches_list(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        agent, branches = await s.agents.with_branches(agent_id)
        if args.json:
            out.json([b.to_wire() for b in branches])
            return EXIT_OK
        for b in branches:
            main = " (main)" if b.id == agent.main_branch_id else ""
            out.line(styled(b.name, single_line=True), main, "\t", styled(b.id, single_line=True), "\t",
                     styled(b.description, single_line=True))
        return EXIT_OK

    return run(args, body)


def cmd_branches_create(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        bid, vid = await s.agents.create_branch(agent_id, args.name, args.description)
        if args.json:
            out.json({"created_branch_id": bid, "created_version_id": vid})
        else:
            out.line(f"created branch {args.name} ({bid})")
        return EXIT_OK

    return run(args, body)


def cmd_branches_merge(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        into = await s.agents.merge(agent_id, args.source, into=args.into, archive=args.archive)
        if args.json:
            out.json({"merged": args.source, "into": into, "archived": bool(args.archive)})
        else:
            out.line(f"merged {args.source} into {into}" + (" (archived it)" if args.archive else ""))
        return EXIT_OK

    return run(args, body)
