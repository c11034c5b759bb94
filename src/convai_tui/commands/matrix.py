"""``matrix`` (the test x version matrix, filling its empty cells) and ``bisect``."""

from __future__ import annotations

import argparse

from ..services.matrix import BisectResult, BisectStep, Cell, Matrix
from ..services.session import Session
from .output import Output, styled
from .render import print_unified
from .runner import EXIT_OK, run

CELL_W = 9


def cell_text(c: Cell) -> tuple[str, str]:
    if not c.total:
        return "·", "dim"
    style = "green" if c.passed == c.total else "red" if c.passed == 0 else "yellow"
    return f"{c.passed}/{c.total}{'~' if c.flaky else ''}", style


def print_matrix(out: Output, m: Matrix, live: dict[str, object] | None = None) -> None:
    name_w = min(40, max([len(r.name) for r in m.rows] + [4]))
    out.line(f"{'TEST':<{name_w}} ", *[styled(f"{c.key[:CELL_W - 1]:>{CELL_W}}", "bold", single_line=True)
                                     for c in m.columns])
    for r in m.rows:
        parts = []
        for c in m.columns:
            text, style = cell_text(r.cells[c.key])
            parts.append(styled(f"{text:>{CELL_W}}", style))
        out.line(styled(f"{r.name[:name_w]:<{name_w}} ", single_line=True), *parts)
    totals = []
    for c in m.columns:
        t = m.column_rate(c.key)
        totals.append(f"{'' if t.rate is None else f'{t.rate * 100:.0f}%':>{CELL_W}}")
    out.line(styled(f"{'overall':<{name_w}} ", "bold"), *totals)
    if live:
        calls, rates = [], []
        for c in m.columns:
            ev = live.get(c.key)
            calls.append(f"{'' if ev is None else f'{ev.calls:,}' + ('+' if ev.capped else ''):>{CELL_W}}")
            r = None if ev is None else ev.success_rate
            rates.append(f"{'' if r is None else f'{r * 100:.0f}%':>{CELL_W}}")
        out.line(styled(f"{'live calls':<{name_w}} ", "dim"), *calls)
        out.line(styled(f"{'call success':<{name_w}} ", "dim"), *rates)
    for c in m.columns:
        out.line(styled(f"  {c.key}: {c.label}", "dim", single_line=True))
    out.line(styled("  cells: passed/runs of all recorded runs of that prompt (by content); ~ flaky; · no runs yet",
                    "dim"))
    if live:
        out.line(styled("  live: real calls served by the remote versions with that prompt, and their success rate",
                        "dim"))


def cmd_matrix(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        specs = [x for x in (args.targets or "").split(",") if x.strip()] or None
        m, tests = await s.matrix.matrix(agent_id, specs)
        if args.fill and m.missing():
            missing = m.missing()
            n = sum(len(v) for v in missing.values())
            prompts = len({c.content_hash for c in m.columns if c.key in missing})
            out.note(f"filling {n} empty cell(s) in {len(missing)} column(s) × {args.repeat}: {prompts} distinct "
                     f"prompt(s), one run-tests call each, {args.concurrency} at a time")
            with out.progress("filling", total=n * args.repeat) as bar:
                done: dict[str, int] = {}
                async for p in s.matrix.fill(m, tests, repeat=args.repeat, concurrency=args.concurrency):
                    done[p.column] = p.done
                    bar.update(sum(done.values()), p.column)
                    if p.error:
                        out.warn(f"{p.column}: {p.error}")
            m = s.matrix.build(agent_id, m.columns, tests)
        live: dict[str, object] = {}
        if not args.no_live:
            from ..api.errors import ConvAIError

            try:
                evidence = await s.matrix.version_evidence(agent_id)
                live = {c.key: ev for c in m.columns if (ev := s.matrix.live_for(evidence, c.content_hash))}
            except ConvAIError as exc:
                out.warn(f"live-call evidence not read: {s.redact(str(exc))}")
        if args.json:
            data = m.to_json()
            for col in data["columns"]:
                ev = live.get(col["key"])
                col["live"] = ev.to_json() if ev is not None else None  # type: ignore[attr-defined]
            out.json(data)
        else:
            print_matrix(out, m, live)
            if not args.fill and m.missing():
                out.note("some cells have no runs yet: --fill runs only those (one run-tests call per column)")
        return EXIT_OK

    return run(args, body)


def cmd_bisect(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        good, bad = _num(args.good), _num(args.bad)
        result: BisectResult | None = None
        async for x in s.matrix.bisect(agent_id, args.test, good=good, bad=bad, repeat=args.repeat,
                                       min_pass_rate=args.min_pass_rate):
            if isinstance(x, BisectStep):
                how = f"ran {x.run_id}" if x.run_id else "from recorded runs"
                out.note(f"v{x.version}: {x.passed}/{x.total} ", styled("good" if x.good else "bad",
                                                                        "green" if x.good else "red"), f" ({how})")
            else:
                result = x
        assert result is not None
        diff = s.prompts.diff(agent_id, f"v{result.predecessor}", f"v{result.culprit}")
        if args.json:
            data = result.to_json()
            data["diff"] = diff.unified()
            out.json(data)
            return EXIT_OK
        out.line(styled(f"v{result.culprit}", "bold red"), " is the first version where ",
                 styled(result.test_name, "bold", single_line=True),
                 f" fails (v{result.predecessor} passes); {len(result.steps)} steps, {result.api_runs} new run(s):")
        print_unified(out, diff.unified())
        return EXIT_OK

    return run(args, body)


def _num(ref: str) -> int:
    from ..services.errors import UsageError

    r = ref.strip().lower().removeprefix("v")
    if not (r.isascii() and r.isdigit()):
        raise UsageError(f"not a version: {ref!r} (use v3 or 3)")
    return int(r)
