"""``runs list|show|compare``: the run history, one run, two runs side by side."""

from __future__ import annotations

import argparse

from ..services.runs import Comparison, RunView, run_json
from ..services.session import Session
from .output import Output, styled
from .render import RESULT_STYLE
from .runner import EXIT_OK, run

VERDICT_STYLE = {"newly failing": "bold red", "still failing": "red", "flaky": "yellow", "fixed": "bold green",
                 "passing": "green", "new": "cyan", "removed": "dim"}


def _when(v: RunView) -> str:
    return v.header.created.replace("T", " ").removesuffix("Z")[:16]


def _rate(v: RunView) -> str:
    r = v.pass_rate
    return "   —" if r is None else f"{r * 100:3.0f}%"


async def _merge_remote(s: Session, out: Output, agent_id: str, offline: bool) -> None:
    """Merge runs made elsewhere, unless offline; not reaching the API is a warning, not an error."""
    if offline:
        return
    from ..api.errors import ConvAIError

    try:
        added = await s.runs.sync_remote(agent_id)
    except ConvAIError as exc:
        out.warn(f"runs made elsewhere were not merged ({s.redact(str(exc))}); showing the local history")
        return
    if added:
        out.note(f"merged {added} run(s) made elsewhere from the API's invocation history")


def cmd_runs_list(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        await _merge_remote(s, out, agent_id, args.offline)
        runs = s.runs.list(agent_id)
        for p in s.runs.store.problems:
            out.warn(p)
        if args.limit:
            runs = runs[: args.limit]
        if args.json:
            out.json([run_json(v) for v in runs])
            return EXIT_OK
        if not runs:
            out.line("no runs recorded yet (run `convai-tui test` or `simulate`, or use the TUI)")
            return EXIT_OK
        out.line(f"{'RUN':<22} {'WHEN (UTC)':<16}  {'KIND':<5} {'PASS':>5} {'FAIL':>4} {'FLAKY':>5} {'TIME':>6}  TARGET")
        for v in runs:
            h = v.header
            kind = "sim" if h.kind == "simulation" else "test"
            if h.kind == "simulation":
                result = h.call_successful or "?"
                rate = styled(f"{result[:5]:>5}", RESULT_STYLE.get(result, "yellow"), single_line=True)
                fails, flaky = f"{h.failed:>4}", f"{'':>5}"
            else:
                rate = styled(f"{_rate(v):>5}", "green" if v.pass_rate == 1 else "red" if v.failed else "")
                fails, flaky = f"{len(v.failed_tests):>4}", f"{len(v.flaky_tests):>5}"
            retried = f" +{len(v.retries)} retr{'y' if len(v.retries) == 1 else 'ies'}" if v.retries else ""
            out.line(f"{h.id:<22} {_when(v):<16}  {kind:<5} ", rate, f" {fails} {flaky} {h.duration_secs:>5.0f}s  ",
                     styled(h.target_label, "bold", single_line=True),
                     styled(f"  {h.scenario}" if h.scenario else "", "dim", single_line=True),
                     styled(f"  ({h.source})" if h.source != "local" else "", "dim"), styled(retried, "dim"))
        return EXIT_OK

    return run(args, body)


def cmd_runs_show(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        kind = "simulation" if args.simulation else "test"
        v = s.runs.full(s.runs.resolve(agent_id, args.run, kind=kind))
        if args.json:
            data = run_json(v)
            data["tests"] = [{"test_id": o.test_id, "name": o.name, "type": o.type, "attempts": o.attempts,
                              "passed": o.passed, "failed": o.failed, "flaky": o.flaky} for o in v.outcomes or []]
            out.json(data)
            return EXIT_OK
        h = v.header
        out.line(styled(h.id, "bold"), f"  {_when(v)} UTC  ", styled(h.target_label, "bold", single_line=True),
                 f"  · {h.road} · {h.duration_secs:.0f}s" + (f" · invocation {h.invocation_id}" if h.invocation_id else ""))
        if h.kind == "simulation":
            from .render import print_analysis, print_turn
            from ..api.models import ConversationAnalysis, TranscriptTurn

            f = s.runs.load(h)
            for i, t in enumerate(f.turns):
                print_turn(out, TranscriptTurn.model_validate(t), i)
            if f.analysis:
                out.blank()
                print_analysis(out, ConversationAnalysis.model_validate(f.analysis))
            return EXIT_OK
        for o in v.outcomes or []:
            marks = " ".join("".join({"P": "✓", "F": "✗", "C": "-", ".": "…"}.get(c, "?") for c in a)
                             for a in o.attempts)
            out.line(styled(f"{o.name[:50]:<50}", single_line=True), f"  {o.passed}/{o.total}  {marks}",
                     styled("  flaky" if o.flaky else "", "yellow"))
        return EXIT_OK

    return run(args, body)


def print_comparison(out: Output, cmp: Comparison, *, allow_noise: bool = False) -> None:
    a, b = cmp.a.header, cmp.b.header
    out.line("A ", styled(a.id, "bold"), f" {a.created[:16]} ", styled(a.target_label, single_line=True))
    out.line("B ", styled(b.id, "bold"), f" {b.created[:16]} ", styled(b.target_label, single_line=True))
    out.line(f"{'TEST':<40} {'A':>7} {'B':>7} {'CHANGE':>7}  VERDICT")
    for r in cmp.rows:
        sa = f"{r.a[0]}/{r.a[1]}" if r.a else "—"
        sb = f"{r.b[0]}/{r.b[1]}" if r.b else "—"
        ch = "" if r.change is None else f"{r.change * 100:+.0f}%"
        note = ""
        if r.within_noise:
            note = f"  (within noise: Fisher p={r.p_value:.2f}; more repeats would tell)"
        elif r.p_value is not None and r.change:
            note = f"  (p={r.p_value:.3f})"
        out.line(styled(f"{r.name[:40]:<40}", single_line=True), f" {sa:>7} {sb:>7} {ch:>7}  ",
                 styled(r.verdict + (" (flaky)" if r.flaky and r.verdict != "flaky" else ""),
                        VERDICT_STYLE.get(r.verdict, "")), styled(note, "dim"))
    counts = ", ".join(f"{n} {k}" for k, n in cmp.by_verdict().items())
    regs = cmp.regressions(allow_noise=allow_noise)
    out.line(f"\n{counts}. ", styled(f"{len(regs)} regression(s)" if regs else "no regression",
                                     "bold red" if regs else "bold green"))


def cmd_runs_compare(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        agent_id = s.agent_id(args.agent)
        kind = "simulation" if args.simulation else "test"
        a = s.runs.resolve(agent_id, args.a, kind=kind)
        b = s.runs.resolve(agent_id, args.b, kind=kind)
        if kind == "simulation":
            return _compare_simulations(s, out, a, b, args.json)
        cmp = s.runs.compare(a, b, min_pass_rate=args.min_pass_rate)
        if args.json:
            out.json(cmp.to_json())
        else:
            print_comparison(out, cmp)
        return EXIT_OK

    return run(args, body)


def _compare_simulations(s: Session, out: Output, a: RunView, b: RunView, as_json: bool) -> int:
    fa, fb = s.runs.load(a.header), s.runs.load(b.header)
    if as_json:
        out.json({"a": run_json(a), "b": run_json(b), "turns": [[x, y] for x, y in _pairs(fa.turns, fb.turns)],
                  "analysis": {"a": fa.analysis, "b": fb.analysis}})
        return EXIT_OK
    out.line("A ", styled(a.header.target_label, "bold", single_line=True), "   B ",
             styled(b.header.target_label, "bold", single_line=True), "   scenario ",
             styled(a.header.scenario or "?", single_line=True))
    for i, (x, y) in enumerate(_pairs(fa.turns, fb.turns)):
        for side, t in (("A", x), ("B", y)):
            if t is not None:
                out.line(f"{i:>4} {side} ", styled(f"{t.get('role', '?'):<6}", "cyan" if t.get("role") == "agent"
                                                   else "magenta", single_line=True),
                         styled(str(t.get("message") or ""), single_line=True))
    ca, cb = a.header.criteria, b.header.criteria
    out.line(f"\ncall: A {a.header.call_successful}   B {b.header.call_successful}")
    for cid in sorted(set(ca) | set(cb)):
        ra, rb = ca.get(cid, "—"), cb.get(cid, "—")
        out.line(styled(f"  {cid[:30]:<30}", single_line=True), " A ", styled(f"{ra:<8}", RESULT_STYLE.get(ra, "")),
                 " B ", styled(f"{rb:<8}", RESULT_STYLE.get(rb, "")), styled("  ← differs" if ra != rb else "", "yellow"))
    return EXIT_OK


def _pairs(a: list, b: list) -> list[tuple]:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(n)]
