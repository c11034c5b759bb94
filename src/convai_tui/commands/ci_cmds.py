"""Headless commands for scripts and CI: simulate, test (JUnit), conversations, agents.

Conventions: data on stdout, progress on stderr; ``--json`` for machine-readable output;
no colour when ``NO_COLOR`` is set or stdout is not a terminal. Exit codes: 0 ok, 1 a test
or simulation failed, 2 usage/config, 3 conflict, 4 API error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..textutil import one_line, safe
from ..workspace.errors import WorkspaceError
from .common import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    emit_json,
    err,
    open_client,
    run,
    use_colour,
    workspace_root,
)

C = {"red": "\x1b[31m", "green": "\x1b[32m", "yellow": "\x1b[33m", "cyan": "\x1b[36m", "magenta": "\x1b[35m",
     "dim": "\x1b[2m", "bold": "\x1b[1m", "reset": "\x1b[0m"}


def paint(text: str, colour: str, on: bool) -> str:
    return f"{C[colour]}{text}{C['reset']}" if on else text


class Progress:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = (hasattr(self.stream, "isatty") and self.stream.isatty()) if enabled is None else enabled
        self._last = 0.0

    def update(self, done: int, total: int | None, label: str = "", force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if total:
            width = 30
            filled = int(width * min(done, total) / total)
            bar = "█" * filled + "░" * (width - filled)
            line = f"\r{bar} {done:,}/{total:,} {label}"
        else:
            line = f"\r{done:,} {label}"
        self.stream.write(line[:200] + "\x1b[K")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# ------------------------------------------------------------------ parsers
def add_parsers(sub: Any, common: argparse.ArgumentParser, tests_sub: Any) -> None:
    p = sub.add_parser("simulate", parents=[common], help="run a simulation scenario and print the analysis",
                       description="Run a scenario (from the workspace's scenarios/, or a built-in one) against "
                                   "the agent. Streams turns as they arrive; exit 1 when the call is not "
                                   "successful or a criterion fails.")
    p.add_argument("--scenario", "-s", required=True, help="scenario name or path to a scenario TOML file")
    p.add_argument("--agent")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--version", type=int, help="simulate a saved prompt version (as agent_config_override)")
    g.add_argument("--draft", action="store_true", help="simulate the working draft (as agent_config_override)")
    p.add_argument("--branch", help="simulate a branch")
    p.add_argument("--turns", type=int, help="override the scenario's turn limit")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("test", parents=[common], help="run the agent's tests; JUnit XML; exit 1 on failure",
                       description="run-tests on the agent's attached tests, poll until done, print a summary, "
                                   "write JUnit XML. Exit 1 when a test fails (or its pass rate is below "
                                   "--min-pass-rate over repeats).")
    p.add_argument("--agent")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--branch", help="run against a branch (name or id)")
    g.add_argument("--draft", action="store_true", help="run against the workspace draft (or latest version)")
    g.add_argument("--version", type=int, help="run against a saved prompt version")
    p.add_argument("--repeat", type=int, default=1, help="repeat count, 1-20")
    p.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="only tests whose name or id matches (glob; repeatable)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    p.add_argument("--min-pass-rate", type=float, default=1.0, metavar="R",
                   help="a test passes when at least this fraction of its runs pass (default 1.0)")
    p.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("conversations", help="list, show and export conversations")
    cs = p.add_subparsers(dest="conv_cmd", metavar="ACTION", required=True)
    c = cs.add_parser("list", parents=[common], help="list conversations (newest first)")
    _conv_filters(c)
    c.add_argument("--search", help="full-text search in messages")
    c.add_argument("--limit", type=int, default=50, help="at most this many (default 50; 0 = all)")
    c.set_defaults(func=cmd_conversations_list)
    c = cs.add_parser("show", parents=[common], help="print one conversation's transcript and analysis")
    c.add_argument("conversation_id")
    c.set_defaults(func=cmd_conversations_show)
    c = cs.add_parser("export", parents=[common], help="export conversations as JSON lines, page by page")
    _conv_filters(c)
    c.add_argument("--format", choices=["jsonl"], default="jsonl")
    c.add_argument("--out", "-o", help="output file (default: stdout)")
    c.add_argument("--details", action="store_true", help="fetch each conversation's full transcript")
    c.set_defaults(func=cmd_conversations_export)

    t = tests_sub.add_parser("from-conversation", parents=[common],
                             help="turn a conversation up to a turn into a test",
                             description="Create an llm test whose chat history is the conversation up to TURN "
                                         "(the last caller turn at or before it); attach it to the agent and "
                                         "save it in the workspace.")
    t.add_argument("conversation_id")
    t.add_argument("--upto", type=int, required=True, metavar="TURN")
    t.add_argument("--success-condition", required=True)
    t.add_argument("--success-example", action="append", default=[])
    t.add_argument("--failure-example", action="append", default=[])
    t.add_argument("--name")
    t.add_argument("--no-attach", action="store_true", help="do not attach the test to the agent")
    t.set_defaults(func=cmd_tests_from_conversation)

    p = sub.add_parser("agents", help="list agents")
    a = p.add_subparsers(dest="agents_cmd", metavar="ACTION", required=True)
    al = a.add_parser("list", parents=[common], help="list agents")
    al.set_defaults(func=cmd_agents_list)


def _conv_filters(c: argparse.ArgumentParser) -> None:
    c.add_argument("--agent")
    c.add_argument("--since", help="start time on or after: YYYY-MM-DD, an ISO time, unix seconds, or relative "
                                              "like 7d / 12h")
    c.add_argument("--until", help="start time before: same forms as --since")
    c.add_argument("--failed", action="store_true", help="only unsuccessful calls")
    c.add_argument("--successful", action="store_true", help="only successful calls")


# ------------------------------------------------------------------ helpers
def parse_when(text: str, now: float | None = None) -> int:
    now = time.time() if now is None else now
    if text.strip().isdigit():  # unix seconds
        return int(text.strip())
    m = re.fullmatch(r"(\d+)\s*([smhdw])", text.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return int(now - n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit])
    try:
        d = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"cannot read the time {text!r}: use YYYY-MM-DD, an ISO time, or 7d/12h/30m") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return int(d.timestamp())


def conv_filter_params(args: Any) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if args.failed and args.successful:
        raise UsageError("--failed and --successful exclude each other")
    if args.failed:
        p["call_successful"] = "failure"
    if args.successful:
        p["call_successful"] = "success"
    if args.since:
        p["call_start_after_unix"] = parse_when(args.since) - 1
    if args.until:
        p["call_start_before_unix"] = parse_when(args.until)
    return p


def agent_for(args: Any, ws: Any, required: bool = True) -> str | None:
    agent = getattr(args, "agent", None)
    if agent:
        return agent
    try:
        agent = ws.config().default_agent
    except WorkspaceError:
        agent = None
    if not agent and required:
        raise UsageError("which agent? pass --agent (or pull one into the workspace to make it the default)")
    return agent


def turn_line(t: Any, i: int, colour: bool) -> str:
    role = paint(f"{safe(t.role):<6}", "cyan" if t.role == "agent" else "magenta", colour)
    secs = int(t.time_in_call_secs or 0)
    out = f"{i:>4} {role}{secs // 60:02d}:{secs % 60:02d}  {safe(t.message or '')}"
    for call in t.tool_calls or []:
        out += "\n" + paint(f"            ⚙ {safe(call.tool_name)}({safe(call.params_as_json, limit=300)})",
                            "yellow", colour)
    for r in t.tool_results or []:
        out += "\n" + paint(f"            ↳ {safe(r.tool_name)}: {safe(r.result_value, limit=300)}"
                            + (" (error)" if r.is_error else ""), "red" if r.is_error else "dim", colour)
    return out


def analysis_lines(an: Any, colour: bool) -> list[str]:
    ok = {"success": "green", "failure": "red"}.get(an.call_successful, "yellow")
    lines = [f"call: {paint(an.call_successful, ok, colour)}"
             + (f"  ({one_line(an.call_summary_title, 80)})" if an.call_summary_title else ""),
             f"summary: {safe(an.transcript_summary)}"]
    for cid, r in (an.evaluation_criteria_results or {}).items():
        c = {"success": "green", "failure": "red"}.get(r.result, "yellow")
        lines.append(f"  {paint(r.result, c, colour):<8} {one_line(cid, 40)}: {safe(r.rationale)}")
    for did, d in (an.data_collection_results or {}).items():
        lines.append(f"  data {one_line(did, 40)} = {json.dumps(d.value, ensure_ascii=False)}")
    return lines


def find_scenario(ws: Any, agent_id: str, ref: str) -> Any:
    from ..workspace.scenarios import builtin_scenarios
    from ..workspace.store import ScenarioFile
    from ..workspace import files as F

    path = Path(ref)
    if path.suffix == ".toml" and path.exists():
        loaded = F.read(path)
        return F.validate(path, path.read_text(encoding="utf-8"), loaded.data, ScenarioFile).scenario()  # type: ignore[attr-defined]
    candidates = ws.scenarios(agent_id) + builtin_scenarios()
    for s in candidates:
        if s.name == ref or F.safe_filename(s.name) == ref:
            return s
    for p in ws.problems:
        err(f"warning: skipped {p}")
    names = ", ".join(sorted({s.name for s in candidates}))
    raise UsageError(f"no scenario {ref!r} (have: {names})")


def local_draft(ws: Any, agent_id: str, version: int | None, draft: bool) -> Any:
    from .workspace_cmds import resolve_ref

    if version is not None:
        return resolve_ref(ws, agent_id, str(version))
    if draft:
        return resolve_ref(ws, agent_id, "draft")
    return None


# ------------------------------------------------------------------ simulate
def cmd_simulate(args: Any) -> int:
    async def go() -> int:
        from ..api.errors import StreamInterrupted
        from ..api.sim_events import Finished, NewTurns, Progress as SimProgress, RoadChosen
        from ..api.simulations import run_simulation
        from ..services import RunTarget

        from ..workspace.store import Workspace

        ws = Workspace(workspace_root(args))
        agent_id = agent_for(args, ws)
        scenario = find_scenario(ws, agent_id, args.scenario)
        if args.turns:
            scenario.turn_limit = args.turns
        picked = local_draft(ws, agent_id, args.version, args.draft)
        colour = use_colour()
        json_out = getattr(args, "json", False)
        turns: list[Any] = []
        road = ""
        final = None
        async with open_client(args) as client:
            branch = None
            if args.branch:
                from .workspace_cmds import resolve_branch

                branch = await resolve_branch(client, agent_id, args.branch)
            target = RunTarget("draft", draft=picked[1]) if picked else (
                RunTarget("branch", branch_id=branch) if branch else RunTarget())
            err(f"simulating “{scenario.name}” against {agent_id}"
                + (f" ({picked[0]})" if picked else f" (branch {args.branch})" if branch else "") + " …")
            try:
                async for upd in run_simulation(client, agent_id, scenario.to_request(),
                                                branch_id=target.branch_id if target.kind == "branch" else None,
                                                agent_config_override=target.override()):
                    if isinstance(upd, RoadChosen):
                        road = upd.road
                        err(f"road: {upd.reason}")
                    elif isinstance(upd, NewTurns):
                        for t in upd.turns:
                            if not json_out:
                                print(turn_line(t, len(turns), colour), flush=True)
                            turns.append(t)
                    elif isinstance(upd, SimProgress):
                        err(upd.message)
                    elif isinstance(upd, Finished):
                        final = upd.response
            except StreamInterrupted as exc:
                err(f"convai-tui: {exc}")
                if json_out:
                    emit_json({"scenario": scenario.name, "road": road, "interrupted": str(exc),
                               "simulated_conversation": [t.to_wire() for t in exc.partial], "analysis": None})
                return EXIT_API
        assert final is not None
        an = final.analysis
        failed = an.call_successful != "success" or any(
            r.result == "failure" for r in (an.evaluation_criteria_results or {}).values())
        if json_out:
            emit_json({"scenario": scenario.name, "agent_id": agent_id, "road": road,
                       "passed": not failed, **final.to_wire()})
        else:
            print()
            for ln in analysis_lines(an, colour):
                print(ln)
        return EXIT_FAILED if failed else EXIT_OK

    return run(go)


# ------------------------------------------------------------------ test
def _matches(test: Any, patterns: list[str]) -> bool:
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(test.name.lower(), p.lower()) or fnmatch.fnmatchcase(test.id, p)
               or p.lower() in test.name.lower() for p in patterns)


def cmd_test(args: Any) -> int:
    async def go() -> int:
        from ..api.models import RunTestsRequest, TestRef
        from ..services import RunTarget

        if not 1 <= args.repeat <= 20:
            raise UsageError("--repeat must be between 1 and 20")
        if not 0.0 <= args.min_pass_rate <= 1.0:
            raise UsageError("--min-pass-rate must be between 0 and 1")
        from ..workspace.store import Workspace

        ws = Workspace(workspace_root(args))
        agent_id = agent_for(args, ws)
        picked = local_draft(ws, agent_id, args.version, args.draft)
        json_out = getattr(args, "json", False)
        progress = Progress()
        async with open_client(args) as client:
            agent = await client.get_agent(agent_id)
            branch = None
            if args.branch:
                from .workspace_cmds import resolve_branch

                branch = await resolve_branch(client, agent_id, args.branch)
            ids = agent.attached_test_ids or [t.id async for t in client.iter_tests()]
            tests = [await client.get_test(i) for i in ids]
            tests = [t for t in tests if _matches(t, args.only)]
            if not tests:
                raise UsageError("no tests to run" + (f" match {args.only}" if args.only else ""))
            target = RunTarget("draft", draft=picked[1]) if picked else RunTarget()
            label = picked[0] if picked else (f"branch {args.branch}" if branch else "remote")
            err(f"running {len(tests)} test(s) × {args.repeat} against {agent_id} ({label}) …")
            inv = await client.run_tests(agent_id, RunTestsRequest(
                tests=[TestRef(test_id=t.id) for t in tests], repeat_count=args.repeat, branch_id=branch,
                agent_config_override=target.override(), name=f"convai-tui test ({label})"))
            total = len(inv.test_runs)
            started = time.monotonic()
            async for inv in client.poll_invocation(inv.id, initial_interval=0.25, max_interval=3.0,
                                                    timeout=args.timeout):
                c = inv.counts()
                progress.update(total - c["pending"], total, f"{c['passed']} passed, {c['failed']} failed",
                                force=True)
            progress.done()
        elapsed = time.monotonic() - started
        report = build_report(tests, inv, args.repeat, args.min_pass_rate)
        if args.junit:
            write_junit(Path(args.junit), report, agent.name or agent_id, elapsed)
        if json_out:
            emit_json({"agent_id": agent_id, "target": label, "invocation_id": inv.id, "repeat": args.repeat,
                       "min_pass_rate": args.min_pass_rate, "passed": report["passed"],
                       "tests": report["tests"]})
        else:
            print_summary(report, use_colour())
        return EXIT_OK if report["passed"] else EXIT_FAILED

    return run(go)


def build_report(tests: list[Any], inv: Any, repeat: int, min_rate: float) -> dict[str, Any]:
    by_test: dict[str, list[Any]] = {t.id: [] for t in tests}
    for r in inv.test_runs:
        by_test.setdefault(r.test_id, []).append(r)
    rows = []
    all_ok = True
    for t in tests:
        runs = by_test.get(t.id, [])
        passed = sum(r.status == "passed" for r in runs)
        done = sum(r.status in ("passed", "failed") for r in runs)
        rate = passed / len(runs) if runs else 0.0
        ok = bool(runs) and rate >= min_rate - 1e-9
        all_ok = all_ok and ok
        rows.append({
            "id": t.id, "name": t.name, "type": t.type, "passed_runs": passed, "runs": len(runs), "done": done,
            "pass_rate": round(rate, 4), "passed": ok,
            "condition": t.success_condition or "; ".join(t.success_conditions or []) or (
                f"calls {t.tool_call_parameters.referenced_tool.id}"
                if t.tool_call_parameters and t.tool_call_parameters.referenced_tool else ""),
            "results": [{
                "run": i + 1, "status": r.status, "test_run_id": r.test_run_id,
                "rationale": _rationale(r),
            } for i, r in enumerate(runs)],
        })
    return {"passed": all_ok, "tests": rows}


def _rationale(run: Any) -> str:
    cr = run.condition_result
    if cr is None or cr.rationale is None:
        return ""
    parts: list[str] = []
    for p in [cr.rationale.summary or ""] + list(cr.rationale.messages or []):
        if p and p not in parts:
            parts.append(p)
    return "\n".join(parts)


def print_summary(report: dict[str, Any], colour: bool) -> None:
    width = max([len(one_line(t["name"], 50)) for t in report["tests"]] + [4])
    print(f"{'TEST':<{width}}  TYPE  RUNS      RATE  RESULT")
    for t in report["tests"]:
        marks = "".join({"passed": "✓", "failed": "✗", "cancelled": "-", "pending": "…"}.get(r["status"], "?")
                        for r in t["results"])
        res = paint("PASS", "green", colour) if t["passed"] else paint("FAIL", "red", colour)
        kind = {"simulation": "sim"}.get(t["type"], t["type"])[:5]
        print(f"{one_line(t['name'], 50):<{width}}  {kind:<5} {marks:<8} {t['pass_rate'] * 100:4.0f}%  {res}")
    n_ok = sum(t["passed"] for t in report["tests"])
    print(f"\n{n_ok}/{len(report['tests'])} tests passed")
    for t in report["tests"]:
        if not t["passed"]:
            first = next((r for r in t["results"] if r["status"] == "failed"), None)
            if first:
                print(f"\n✗ {one_line(t['name'], 80)} — {one_line(t['condition'], 120)}")
                for ln in safe(first["rationale"]).splitlines()[:6]:
                    print(f"    {ln}")


def write_junit(path: Path, report: dict[str, Any], suite: str, elapsed: float) -> None:
    from xml.sax.saxutils import escape, quoteattr

    def xml_safe(s: str) -> str:  # XML 1.0 cannot carry most control characters
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", s)

    cases = []
    failures = skipped = 0
    for t in report["tests"]:
        for r in t["results"]:
            name = f"{t['name']} [run {r['run']}]" if len(t["results"]) > 1 else t["name"]
            body = ""
            if r["status"] == "failed":
                failures += 1
                msg = f"{t['condition']}"
                body = (f"<failure message={quoteattr(xml_safe(msg))} type=\"AssertionError\">"
                        f"{escape(xml_safe(r['rationale']))}</failure>")
            elif r["status"] in ("cancelled", "pending"):
                skipped += 1
                body = f"<skipped message={quoteattr(r['status'])}/>"
            cases.append(f"  <testcase classname={quoteattr(xml_safe(suite))} name={quoteattr(xml_safe(name))} "
                         f"time=\"0\">{body}</testcase>")
    xml = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           f"<testsuite name={quoteattr(xml_safe(suite))} tests=\"{len(cases)}\" failures=\"{failures}\" "
           f"errors=\"0\" skipped=\"{skipped}\" time=\"{elapsed:.3f}\">\n" + "\n".join(cases) + "\n</testsuite>\n")
    from ..workspace.files import atomic_write

    try:
        atomic_write(path, xml.encode("utf-8"))
    except WorkspaceError as exc:
        raise UsageError(f"cannot write JUnit XML: {exc}") from None


# ------------------------------------------------------------------ conversations
def cmd_conversations_list(args: Any) -> int:
    async def go() -> int:
        from ..workspace.store import Workspace

        ws = Workspace(workspace_root(args))
        agent_id = agent_for(args, ws, required=False)
        json_out = getattr(args, "json", False)
        limit = args.limit or None
        colour = use_colour()
        async with open_client(args) as client:
            if args.search:
                items = [r async for r in client.iter_search_messages(args.search, agent_id=agent_id, limit=limit)]
                if json_out:
                    emit_json([r.to_wire() for r in items])
                else:
                    for r in items:
                        print(f"{_ts(r.conversation_start_time_unix_secs)}  {r.conversation_id}  "
                              f"#{r.transcript_index:<3} {one_line(r.chunk_text, 100)}")
                return EXIT_OK
            items = [c async for c in client.iter_conversations(agent_id=agent_id, limit=limit,
                                                                 **conv_filter_params(args))]
        if json_out:
            emit_json([c.to_wire() for c in items])
            return EXIT_OK
        for c in items:
            res = {"success": "green", "failure": "red"}.get(c.call_successful, "yellow")
            print(f"{_ts(c.start_time_unix_secs)}  {c.conversation_id}  {c.call_duration_secs // 60:>3}:"
                  f"{c.call_duration_secs % 60:02d}  {paint(f'{c.call_successful:<7}', res, colour)}  "
                  f"{one_line(c.main_language or '', 3):<3} {one_line(c.call_summary_title or '', 60)}")
        return EXIT_OK

    return run(go)


def _ts(unix: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(unix or 0))


def cmd_conversations_show(args: Any) -> int:
    async def go() -> int:
        async with open_client(args) as client:
            conv = await client.get_conversation(args.conversation_id)
        if getattr(args, "json", False):
            emit_json(conv.to_wire())
            return EXIT_OK
        colour = use_colour()
        md = conv.metadata
        print(f"{conv.conversation_id}  {safe(conv.agent_name or conv.agent_id)}  {_ts(md.start_time_unix_secs)} UTC  "
              f"{md.call_duration_secs}s  {safe(conv.status)}  {safe(md.main_language or '')}")
        for i, t in enumerate(conv.transcript):
            print(turn_line(t, i, colour))
        if conv.analysis:
            print()
            for ln in analysis_lines(conv.analysis, colour):
                print(ln)
        return EXIT_OK

    return run(go)


def cmd_conversations_export(args: Any) -> int:
    async def go() -> int:
        from ..workspace.store import Workspace

        ws = Workspace(workspace_root(args))
        agent_id = agent_for(args, ws, required=False)
        params = conv_filter_params(args)
        out: Any = sys.stdout
        tmp_path = None
        if args.out:
            target = Path(args.out)
            tmp_path = target.with_name(f".{target.name}.partial")
            try:
                out = open(tmp_path, "w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
        progress = Progress()
        n = 0
        started = time.monotonic()
        try:
            async with open_client(args) as client:
                cursor = None
                while True:
                    page = await client.list_conversations(agent_id=agent_id, cursor=cursor, page_size=100,
                                                           **params)
                    for c in page.conversations:
                        obj = (await client.get_conversation(c.conversation_id)).to_wire() if args.details \
                            else c.to_wire()
                        out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
                        n += 1
                    rate = n / max(time.monotonic() - started, 1e-6)
                    progress.update(n, None, f"conversations · {rate:,.0f}/s")
                    if not page.has_more or not page.next_cursor:
                        break
                    cursor = page.next_cursor
            out.flush()
        finally:
            if out is not sys.stdout:
                out.close()
            progress.done()
        if tmp_path is not None:
            tmp_path.replace(Path(args.out))  # only a complete export gets the real name
        rate = n / max(time.monotonic() - started, 1e-6)
        err(f"exported {n:,} conversations ({rate:,.0f}/s)")
        return EXIT_OK

    return run(go)


# ------------------------------------------------------------------ tests from-conversation, agents
def cmd_tests_from_conversation(args: Any) -> int:
    async def go() -> int:
        from ..api.models import AgentUpdate
        from ..services import Backend

        from ..workspace.store import Workspace

        ws = Workspace(workspace_root(args))
        async with open_client(args) as client:
            conv = await client.get_conversation(args.conversation_id)
            if not 0 <= args.upto < len(conv.transcript):
                raise UsageError(f"--upto must be between 0 and {len(conv.transcript) - 1} for this conversation")
            name = args.name or f"From {conv.conversation_id} turn {args.upto}"
            try:
                body = Backend.test_from_conversation(conv, args.upto, name=name,
                                                      success_condition=args.success_condition,
                                                      success_examples=args.success_example,
                                                      failure_examples=args.failure_example)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            made = await client.create_test(body)
            if not args.no_attach:
                agent = await client.get_agent(conv.agent_id)
                attached = [{"test_id": t} for t in agent.attached_test_ids] + [{"test_id": made.id}]
                await client.update_agent(conv.agent_id, AgentUpdate(
                    platform_settings={"testing": {"attached_tests": attached}}))
        path = ws.save_test(conv.agent_id, body, remote_id=made.id, synced=True)
        if getattr(args, "json", False):
            emit_json({"id": made.id, "name": name, "file": str(path), "chat_history_turns": len(body.chat_history or [])})
        else:
            print(f"created test {made.id} “{safe(name)}” ({len(body.chat_history or [])} turns of history)")
            print(f"saved {path}")
        return EXIT_OK

    return run(go)


def cmd_agents_list(args: Any) -> int:
    async def go() -> int:
        async with open_client(args) as client:
            agents = [a async for a in client.iter_agents(page_size=100)]
        if getattr(args, "json", False):
            emit_json([a.to_wire() for a in agents])
            return EXIT_OK
        for a in agents:
            print(f"{a.agent_id}\t{safe(a.name)}\t{','.join(a.tags)}")
        return EXIT_OK

    return run(go)
