"""``test`` (run the agent's tests: summary, JUnit, exit codes) and ``tests pull|push|from-conversation``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..services.runs import Comparison, tests_of_invocation
from ..services.session import Session
from ..services.tests import TestReport
from .output import Output, styled
from .render import RESULT_STYLE
from .runner import EXIT_FAILED, EXIT_OK, run, warn_problems

MARKS = {"passed": "✓", "failed": "✗", "cancelled": "-", "pending": "…"}


def cmd_test(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        if args.retry_failed:
            return await _retry(s, out, agent_id, args)
        baseline = s.runs.resolve(agent_id, args.baseline) if args.baseline else None
        target = await s.prompts.target(agent_id, branch=args.branch, version=args.version, draft=args.draft)
        agent = await s.agents.get(agent_id)
        ts = await s.tests.for_agent(agent, only=args.only)
        for m in ts.missing:
            out.warn(f"skipped test {m}")
        if not ts.tests:
            from ..services.errors import UsageError

            raise UsageError("no tests to run" + (f" match {args.only}" if args.only else ""))
        out.note(f"running {len(ts.tests)} test(s) × {args.repeat} against {agent_id}: ", styled(target.label, "bold"),
                 f" · {target.test_road}")
        prompt, version_id = await s.runs.prompt_of(agent_id, target)
        started, wall = time.monotonic(), time.time()
        inv = None
        with out.progress("tests", total=len(ts.tests) * args.repeat) as bar:
            async for inv in s.tests.run(agent_id, ts.tests, target, repeat=args.repeat, timeout=args.timeout):
                c = inv.counts()
                bar.update(len(inv.test_runs) - c["pending"], f"{c['passed']} passed, {c['failed']} failed",
                           total=len(inv.test_runs))
        assert inv is not None
        report = s.tests.report(agent_id, ts.tests, inv, target, repeat=args.repeat, min_pass_rate=args.min_pass_rate,
                                elapsed=time.monotonic() - started, missing=ts.missing)
        header = s.runs.record_test_run(agent_id, ts.tests, inv, target, repeat=args.repeat, started=wall,
                                        prompt=prompt, version_id=version_id)
        report.run_id = header.id
        comparison = None
        if baseline is not None:
            comparison = s.runs.compare(baseline, s.runs.view(header), min_pass_rate=args.min_pass_rate)
        return _finish(s, out, args, agent.name or agent_id, report, comparison)

    return run(args, body)


def _finish(s: Session, out: Output, args: argparse.Namespace, suite: str, report: TestReport,
            comparison: Comparison | None) -> int:
    """The summary, --json and JUnit; the exit code: with a baseline, 1 only on regressions against it."""
    regressions = comparison.regressions(allow_noise=args.allow_noise) if comparison else None
    if args.junit:
        from .junit import write_junit

        write_junit(Path(args.junit), report, suite, comparison=comparison, allow_noise=args.allow_noise)
    if args.json:
        data = report.to_json()
        if comparison is not None:
            data["baseline"] = comparison.to_json()
            data["baseline"]["regressions"] = [r.test_id for r in regressions or []]
            data["passed"] = not regressions
        out.json(data)
    else:
        print_summary(out, report)
        if comparison is not None:
            from .runs import print_comparison

            out.blank()
            out.line(styled(f"Against the baseline {comparison.a.header.id} ({comparison.a.header.target_label}):",
                            "bold", single_line=True))
            print_comparison(out, comparison, allow_noise=args.allow_noise)
        out.line(styled(f"recorded as run {report.run_id}", "dim"))
    if comparison is not None:
        return EXIT_FAILED if regressions else EXIT_OK
    return EXIT_OK if report.passed else EXIT_FAILED


async def _retry(s: Session, out: Output, agent_id: str, args: argparse.Namespace) -> int:
    """Resubmit the failed runs of a recorded run; the retried results join it."""
    view = s.runs.full(s.runs.resolve(agent_id, args.retry_failed))
    ids, target = s.runs.retry_plan(view)
    agent = await s.agents.get(agent_id)
    ts = await s.tests.for_agent(agent)
    out.note(f"retrying {len(ids)} failed run(s) of {view.id} against {agent_id}: ", styled(target.label, "bold"))
    started = time.monotonic()
    inv = None
    with out.progress("retrying", total=len(ids)) as bar:
        async for inv in s.runs.retry(agent_id, view, ts.tests):
            c = inv.counts()
            bar.update(len(ids) - c["pending"], f"{c['passed']} passed, {c['failed']} failed")
    assert inv is not None
    # the invocation now holds every run of the original with the retried ones' new results
    report = s.tests.report(agent_id, tests_of_invocation(inv, ts.tests), inv, target, repeat=view.header.repeat,
                            min_pass_rate=args.min_pass_rate, elapsed=time.monotonic() - started)
    report.run_id = view.id
    return _finish(s, out, args, agent.name or agent_id, report, None)


def print_summary(out: Output, report: TestReport) -> None:
    from ..textutil import one_line

    width = max([len(one_line(t.name, 50)) for t in report.rows] + [4])
    out.line(f"{'TEST':<{width}}  TYPE  RUNS      RATE  RESULT")
    for t in report.rows:
        marks = "".join(MARKS.get(r.status, "?") for r in t.runs)
        kind = {"simulation": "sim"}.get(t.type, t.type)[:5]
        res = styled("PASS", "green") if t.passed else styled("FAIL", "red")
        out.line(styled(f"{one_line(t.name, 50):<{width}}", single_line=True), "  ",
                 styled(f"{kind:<5}", single_line=True), f" {marks:<8} {t.pass_rate * 100:4.0f}%  ", res)
    n_ok = sum(t.passed for t in report.rows)
    out.blank()
    out.line(f"{n_ok}/{len(report.rows)} tests passed · target {report.target.label} · {report.target.test_road} · "
             f"invocation {report.invocation_id}")
    for t in report.rows:
        if t.passed:
            continue
        first = next((r for r in t.runs if r.status == "failed"), None)
        if first:
            out.blank()
            out.line(styled(f"✗ {t.name}", RESULT_STYLE["failed"], single_line=True), " — ",
                     styled(t.condition, single_line=True))
            for ln in first.rationale.splitlines()[:6]:
                out.line("    ", styled(ln, single_line=True))


def cmd_tests_pull(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        agent = await s.agents.get(agent_id)
        written, kept = await s.tests.pull_files(agent)
        if args.json:
            out.json({"written": written, "kept": kept})
            return EXIT_OK
        for t in written:
            out.line(f"wrote {t}")
        for t in kept:
            out.line(f"kept  {t}")
        if not written and not kept:
            out.line("tests are up to date")
        return EXIT_OK

    return run(args, body)


def cmd_tests_push(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        res = await s.tests.push_files(agent_id, delete_remote=args.delete_remote)
        warn_problems(s, out)
        if args.json:
            out.json({"created": res.created, "updated": res.updated, "unchanged": res.unchanged,
                      "deleted": res.deleted})
            return EXIT_OK
        for k in ("created", "updated", "deleted"):
            for name in getattr(res, k):
                out.line(f"{k:<8} {name}")
        out.line(f"{len(res.unchanged)} unchanged")
        return EXIT_OK

    return run(args, body)


def cmd_tests_from_conversation(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        conv = await s.conversations.get(args.conversation_id)
        name = args.name or f"From {conv.conversation_id} turn {args.upto}"
        test_id, test_body, where = await s.tests.create_from_conversation(
            conv, args.upto, name=name, success_condition=args.success_condition,
            success_examples=args.success_example, failure_examples=args.failure_example, attach=not args.no_attach)
        turns = len(test_body.chat_history or [])
        if args.json:
            out.json({"id": test_id, "name": name, "file": where, "chat_history_turns": turns})
        else:
            out.line(f"created test {test_id} “", styled(name, single_line=True), f"” ({turns} turns of history)")
            out.line(f"saved {where}")
        return EXIT_OK

    return run(args, body)
