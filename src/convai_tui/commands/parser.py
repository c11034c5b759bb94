"""The command line: every subcommand, its options and their checks (values out of range are
usage errors, exit 2, before anything runs). A subcommand's function is named ``"module:function"``
in ``commands/`` and imported only when it runs (the TUI path imports none of them)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

EPILOG = ("Configuration: flag > environment > workspace file (convai.toml) > default. Environment: "
          "ELEVENLABS_API_KEY, ELEVENLABS_BASE_URL, CONVAI_TUI_WORKSPACE, CONVAI_TUI_AGENT, NO_COLOR. "
          "Exit codes: 0 ok, 1 a test or simulation failed, 2 usage/config, 3 conflict, 4 API error, "
          "130 interrupted.")


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    def conv(text: str) -> int:
        t = text.strip()
        if not (t.lstrip("-").isascii() and t.lstrip("-").isdigit()):
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
        n = int(t)
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}" if hi is not None
                                             else f"must be {lo} or more")
        return n
    conv.__name__ = "number"
    return conv


def float_in(lo: float, hi: float | None = None, *, open_low: bool = False) -> Callable[[str], float]:
    def conv(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if x != x or (x <= lo if open_low else x < lo) or (hi is not None and x > hi):
            raise argparse.ArgumentTypeError(
                f"must be between {lo:g} and {hi:g}" if hi is not None else f"must be more than {lo:g}")
        return x
    conv.__name__ = "number"
    return conv


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes (also accepted after the subcommand name)."""
    c = argparse.ArgumentParser(add_help=False)
    S = argparse.SUPPRESS
    c.add_argument("--base-url", default=S, help="API base URL (default: $ELEVENLABS_BASE_URL, the workspace's "
                                                 "convai.toml, or https://api.elevenlabs.io)")
    c.add_argument("--api-key-file", default=S, help="read the API key from this file instead of $ELEVENLABS_API_KEY")
    c.add_argument("--workspace", "-w", default=S, help="workspace directory (default: $CONVAI_TUI_WORKSPACE, "
                                                        "or the current directory)")
    c.add_argument("--demo", action="store_true", default=S, help="use an in-process offline emulator")
    c.add_argument("--trust-workspace-url", action="store_true", default=S,
                   help="accept a base_url from the workspace's convai.toml that is not an ElevenLabs host")
    c.add_argument("--json", action="store_true", default=S, help="machine-readable output on stdout")
    return c


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="convai-tui", epilog=EPILOG,
                                description="A terminal workbench for ElevenLabs conversational agents. "
                                            "With no subcommand, opens the TUI.")
    p.add_argument("--demo", action="store_true",
                   help="run against the bundled offline emulator with demo data (no key needed)")
    p.add_argument("--base-url", help="API base URL (default: $ELEVENLABS_BASE_URL, convai.toml, "
                                      "or https://api.elevenlabs.io)")
    p.add_argument("--api-key-file", help="read the API key from this file instead of $ELEVENLABS_API_KEY")
    p.add_argument("--agent", help="agent id to open first (default: $CONVAI_TUI_AGENT, convai.toml's "
                                   "default_agent)")
    p.add_argument("--demo-conversations", type=int_in(0, 100_000), default=None, metavar="N",
                   help="with --demo: how many conversations the emulator seeds (default 2000, max 100000)")
    p.add_argument("--workspace", "-w", default=None, help="workspace directory (default: the current directory; "
                                                           "with --demo a per-user demo directory)")
    p.add_argument("--trust-workspace-url", action="store_true",
                   help="accept a base_url from the workspace's convai.toml that is not an ElevenLabs host")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    common = _common()

    def cmd(parent: Any, name: str, func: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, parents=[common], help=help, **kw)
        sp.set_defaults(func=func)
        return sp

    # ---------------------------------------------------------------- the emulator
    s = sub.add_parser("serve-emulator", help="run the offline ConvAI API emulator on loopback",
                       description="Serve the offline emulator: the ConvAI paths, JSON, stream framing and "
                                   "errors, with seeded demo data. Stops cleanly on Ctrl-C.")
    s.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; loopback only "
                                                        "unless --allow-remote)")
    s.add_argument("--port", type=int_in(0, 65535), default=8765)
    s.add_argument("--seed", type=int, default=7, help="seed for the demo data (default 7)")
    s.add_argument("--conversations", type=int_in(0, 100_000), default=2000,
                   help="number of seeded conversations (max 100000)")
    s.add_argument("--conversations-agent", metavar="AGENT_ID", default=None,
                   help="put every seeded conversation on this demo agent (e.g. agent_dental_bella)")
    s.add_argument("--latency-ms", type=int_in(0, 600_000), default=0, help="added latency for every API request")
    s.add_argument("--latency-jitter-ms", type=int_in(0, 600_000), default=0, metavar="J",
                   help="plus a uniform 0..J ms per request (seeded RNG: the same run gives the same delays)")
    s.add_argument("--max-concurrent", type=int_in(0, 100_000), default=0, metavar="N",
                   help="answer 429 too_many_concurrent_requests (with Retry-After) to requests beyond N in "
                        "flight, as the real API does (default 0: no limit)")
    s.add_argument("--retry-after", type=int_in(0, 3600), default=1, metavar="SECS",
                   help="the Retry-After of those 429s (default 1)")
    s.add_argument("--stream-delay-ms", type=int_in(0, 600_000), default=120, help="delay between streamed turns")
    s.add_argument("--test-delay-ms", type=int_in(0, 3_600_000), default=1500, help="how long test runs stay pending")
    s.add_argument("--open", action="store_true", help="accept any API key (or none)")
    s.add_argument("--strict", action="store_true",
                   help="answer 422 to any query parameter or body field the published API does not define "
                        "(and 404 to operations it does not have); needs the jsonschema package")
    s.add_argument("--drift", action="store_true",
                   help="also serve data from a newer API: unknown enum values and fields (to test tolerance)")
    s.add_argument("--no-legacy-simulate", action="store_true",
                   help="answer 410 on simulate-conversation, as a server that removed it would")
    s.add_argument("--faults", action="append", default=[], metavar="SPEC",
                   help="inject a fault, e.g. kind=status,status=429,retry_after=1,count=3 (repeatable)")
    s.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    s.set_defaults(func="emulator:cmd_serve_emulator")

    # ---------------------------------------------------------------- prompts and branches
    x = cmd(sub, "pull", "prompts:cmd_pull", "pull an agent's prompt and tests into the workspace")
    x.add_argument("agent_id")
    x.add_argument("--branch", help="branch name or id (default: main); later pushes go back there")
    x.add_argument("--no-tests", action="store_true", help="do not pull the agent's tests")
    x.add_argument("--history", action="store_true",
                   help="also save the branch's recent remote versions (oldest first) as local versions")

    x = cmd(sub, "push", "prompts:cmd_push", "push a prompt version to the agent or a branch",
            description="PATCH a prompt version to the branch the workspace pulled from (or --branch). Refused "
                        "with exit code 3 when the remote prompt changed since the last pull, showing base, "
                        "remote and local; --force overrides. A push that races another one is reported (exit 3).")
    x.add_argument("--agent", help="agent id (default: the workspace's default agent)")
    x.add_argument("--branch", help="branch name or id to push to (default: the branch pulled from)")
    x.add_argument("--create-branch", action="store_true", help="create --branch from the current remote first")
    x.add_argument("--message", "-m", default="", help="version description (kept in the local version too)")
    g = x.add_mutually_exclusive_group()
    g.add_argument("--version", type=int_in(1), help="version number to push (default: the latest)")
    g.add_argument("--draft", action="store_true", help="push the working draft (draft.toml; it is then kept "
                                                        "as a version)")
    x.add_argument("--force", action="store_true", help="overwrite a remote that changed since the last pull")

    x = cmd(sub, "diff", "prompts:cmd_diff", "diff two prompt versions",
            description="Refs: remote (as last pulled), draft (draft.toml), latest, or a version number (3 or v3). "
                        "Default: remote vs the draft (or the latest version when there is no draft).")
    x.add_argument("a", nargs="?", default="remote")
    x.add_argument("b", nargs="?", default=None)
    x.add_argument("--agent")
    x.add_argument("--side-by-side", "-y", action="store_true", help="two columns with word-level highlights")
    x.add_argument("--width", type=int_in(40, 10_000), help="total width for --side-by-side (default: the terminal's)")
    x.add_argument("--context", "-U", type=int_in(0, 100_000), default=3, help="lines of context (default 3)")
    x.add_argument("--results", action="store_true",
                   help="under the diff: each test's pass rate for A and B (recorded runs) and what changed")

    x = cmd(sub, "versions", "prompts:cmd_versions", "list or show saved prompt versions")
    x.add_argument("number", nargs="?", type=int_in(1), help="show this version")
    x.add_argument("--agent")
    x.add_argument("--stats", action="store_true",
                   help="beside each version: the real calls it served (count, success rate, each evaluation "
                        "criterion) and its recorded test pass rate")

    b = sub.add_parser("branches", help="list, create or merge agent branches")
    bs = b.add_subparsers(dest="branches_cmd", metavar="ACTION", required=True)
    x = cmd(bs, "list", "prompts:cmd_branches_list", "list branches")
    x.add_argument("--agent")
    x = cmd(bs, "create", "prompts:cmd_branches_create", "create a branch from the current main version")
    x.add_argument("name")
    x.add_argument("--agent")
    x.add_argument("--description", default="")
    x = cmd(bs, "merge", "prompts:cmd_branches_merge", "merge a branch into another (default: main)")
    x.add_argument("source")
    x.add_argument("--into", help="target branch (default: main)")
    x.add_argument("--archive", action="store_true", help="archive the source branch after merging")
    x.add_argument("--agent")

    # ---------------------------------------------------------------- tests
    t = sub.add_parser("tests", help="agent tests: sync with the workspace, create from a conversation")
    ts = t.add_subparsers(dest="tests_cmd", metavar="ACTION", required=True)
    x = cmd(ts, "pull", "tests:cmd_tests_pull", "write the agent's tests into the workspace")
    x.add_argument("--agent")
    x = cmd(ts, "push", "tests:cmd_tests_push", "create/update remote tests from the workspace")
    x.add_argument("--agent")
    x.add_argument("--delete-remote", action="store_true",
                   help="also delete attached remote tests that have no local file (never done otherwise)")
    x = cmd(ts, "from-conversation", "tests:cmd_tests_from_conversation", "turn a conversation up to a turn into a test",
            description="Create an llm test whose chat history is the conversation up to TURN (the last caller turn "
                        "at or before it); attach it to the agent and save it in the workspace.")
    x.add_argument("conversation_id")
    x.add_argument("--upto", type=int_in(0), required=True, metavar="TURN")
    x.add_argument("--success-condition", required=True)
    x.add_argument("--success-example", action="append", default=[])
    x.add_argument("--failure-example", action="append", default=[])
    x.add_argument("--name")
    x.add_argument("--no-attach", action="store_true", help="do not attach the test to the agent")

    x = cmd(sub, "test", "tests:cmd_test", "run the agent's tests; JUnit XML; exit 1 on failure",
            description="run-tests on the agent's attached tests against a target (remote main, a branch, a saved "
                        "version or the draft), poll until done, print a summary, write JUnit XML. Exit 1 when a "
                        "test fails (or its pass rate is below --min-pass-rate over repeats).")
    _target_options(x, draft_help="run against the workspace draft (draft.toml)")
    x.add_argument("--repeat", type=int_in(1, 20), default=1, help="repeat count, 1-20")
    x.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="only tests whose name or id matches (glob; repeatable)")
    x.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    x.add_argument("--min-pass-rate", type=float_in(0.0, 1.0), default=1.0, metavar="R",
                   help="a test passes when at least this fraction of its runs pass (default 1.0)")
    x.add_argument("--timeout", type=float_in(0.0, open_low=True), default=900.0,
                   help="give up after this many seconds (default 900)")
    x.add_argument("--baseline", metavar="REF",
                   help="compare with a recorded run (an id, latest, v3, remote, draft or branch:NAME) and exit 1 "
                        "only on regressions against it")
    x.add_argument("--allow-noise", action="store_true",
                   help="with --baseline: a regression within noise (Fisher's exact test, p >= 0.05) does not fail")
    x.add_argument("--retry-failed", metavar="RUN",
                   help="resubmit only the failed runs of a recorded run (same target); the results join that run")

    # ---------------------------------------------------------------- simulations
    x = cmd(sub, "simulate", "simulate:cmd_simulate", "run a simulation scenario and print the analysis",
            description="Run a scenario (from the workspace's scenarios/, or a built-in one) against a target. The "
                        "remote main branch streams its turns; a branch, a version or the draft runs as a "
                        "simulation test. Exit 1 when the call is not successful or a criterion fails.")
    x.add_argument("--scenario", "-s", required=True, help="scenario name or path to a scenario TOML file")
    _target_options(x, draft_help="simulate the working draft (draft.toml)")
    x.add_argument("--turns", type=int_in(1, 10_000), help="override the scenario's turn limit (1-10000)")

    # ---------------------------------------------------------------- conversations and agents
    c = sub.add_parser("conversations", help="list, show and export conversations")
    cs = c.add_subparsers(dest="conv_cmd", metavar="ACTION", required=True)
    x = cmd(cs, "list", "conversations:cmd_conversations_list", "list conversations (newest first)")
    _conv_filters(x)
    x.add_argument("--search", metavar="TEXT", help="the API's full-text search (combines with the filters)")
    x.add_argument("--limit", type=int_in(0), default=50, help="at most this many (default 50; 0 = all)")
    x = cmd(cs, "show", "conversations:cmd_conversations_show", "print one conversation's transcript and analysis")
    x.add_argument("conversation_id")
    x = cmd(cs, "export", "conversations:cmd_conversations_export", "export conversations as JSON lines, page by page")
    _conv_filters(x)
    x.add_argument("--format", choices=["jsonl"], default="jsonl")
    x.add_argument("--out", "-o", help="output file (default: stdout); written whole or not at all")
    x.add_argument("--details", action="store_true", help="fetch each conversation's full transcript")
    x.add_argument("--concurrency", type=int_in(1, 64), default=8,
                   help="requests in flight at most (default 8; fewer if the server says so; 1: one at a time)")

    r = sub.add_parser("runs", help="the run history: list, show and compare recorded runs")
    rs = r.add_subparsers(dest="runs_cmd", metavar="ACTION", required=True)
    x = cmd(rs, "list", "runs:cmd_runs_list", "recorded test and simulation runs, newest first",
            description="Every run made here is recorded in the workspace; runs made elsewhere (the dashboard, CI, "
                        "another machine) are merged in from the API's invocation history unless --offline.")
    x.add_argument("--agent")
    x.add_argument("--offline", action="store_true", help="do not merge runs made elsewhere")
    x.add_argument("--limit", type=int_in(0), default=0, help="at most this many (default: all)")
    x = cmd(rs, "show", "runs:cmd_runs_show", "one recorded run as it was")
    x.add_argument("run", help="a run id (or a unique prefix), latest, v3, remote, draft or branch:NAME")
    x.add_argument("--agent")
    x.add_argument("--simulation", action="store_true", help="REF names a simulation run")
    x = cmd(rs, "compare", "runs:cmd_runs_compare", "two runs side by side: per test, the change and a verdict",
            description="Per test: pass rate in A and in B with counts, the change, and a verdict (newly failing, "
                        "fixed, still failing, flaky, passing); a difference within noise for the number of repeats "
                        "(Fisher's exact test, p >= 0.05) is said to be.")
    x.add_argument("a", help="the baseline run (id, latest, v3, remote, draft, branch:NAME)")
    x.add_argument("b", help="the run to judge")
    x.add_argument("--agent")
    x.add_argument("--simulation", action="store_true", help="compare two simulation runs (transcripts, criteria)")
    x.add_argument("--min-pass-rate", type=float_in(0.0, 1.0), default=1.0, metavar="R",
                   help="a test passes when at least this fraction of its runs pass (default 1.0)")

    x = cmd(sub, "matrix", "matrix:cmd_matrix", "the test x version matrix from recorded runs; --fill runs the gaps",
            description="One row per test, one column per target (saved versions, the draft, branches, the remote), "
                        "each cell the pass rate of every recorded run of that prompt (matched by content). "
                        "--fill runs only the empty cells: one run-tests call per column.")
    x.add_argument("--agent")
    x.add_argument("--targets", help="comma-separated: v3,v5,draft,remote,branch:NAME (default: the saved "
                                     "versions, the draft, the remote)")
    x.add_argument("--fill", action="store_true", help="run the empty cells")
    x.add_argument("--repeat", type=int_in(1, 20), default=1, help="repeat count for --fill (1-20)")
    x.add_argument("--concurrency", type=int_in(1, 8), default=3, help="run-tests calls at a time (default 3)")
    x.add_argument("--no-live", action="store_true",
                   help="without the live-call footer (calls served and success per version: reads conversations)")

    x = cmd(sub, "bisect", "matrix:cmd_bisect", "find the first saved version where a test starts failing",
            description="Binary search over saved versions between --good and --bad; each step is a repeated run "
                        "(recorded runs of that prompt are reused when there are enough), recorded like any run. "
                        "Prints the culprit and its diff against its predecessor.")
    x.add_argument("--agent")
    x.add_argument("--test", required=True, help="the test's name (or a unique part of it) or id")
    x.add_argument("--good", required=True, help="a version where it passes (v2)")
    x.add_argument("--bad", required=True, help="a later version where it fails (v9)")
    x.add_argument("--repeat", type=int_in(1, 20), default=5, help="runs per step (default 5)")
    x.add_argument("--min-pass-rate", type=float_in(0.0, 1.0), default=0.8, metavar="R",
                   help="a step is good when at least this fraction of its runs pass (default 0.8)")

    a = sub.add_parser("agents", help="list agents")
    asub = a.add_subparsers(dest="agents_cmd", metavar="ACTION", required=True)
    cmd(asub, "list", "conversations:cmd_agents_list", "list agents")
    return p


def dispatch(args: argparse.Namespace) -> int:
    import importlib

    module, name = args.func.split(":")
    return int(getattr(importlib.import_module(f"{__package__}.{module}"), name)(args))


def _target_options(x: argparse.ArgumentParser, *, draft_help: str) -> None:
    x.add_argument("--agent")
    g = x.add_mutually_exclusive_group()
    g.add_argument("--branch", help="run against a branch (name or id)")
    g.add_argument("--draft", action="store_true", help=draft_help)
    g.add_argument("--version", type=int_in(1), help="run against a saved prompt version (as agent_config_override)")


def _conv_filters(c: argparse.ArgumentParser) -> None:
    c.add_argument("--agent")
    c.add_argument("--since", help="start time on or after: YYYY-MM-DD, an ISO time, unix seconds, or relative "
                                   "like 7d / 12h")
    c.add_argument("--until", help="start time before: same forms as --since")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--failed", action="store_true", help="only unsuccessful calls")
    g.add_argument("--successful", action="store_true", help="only successful calls")
    c.add_argument("--branch-id", metavar="ID", help="only calls the branch served (its id: branches list)")
    c.add_argument("--version-id", metavar="ID", help="only calls the version served (agtvrsn_…: versions --stats)")
    c.add_argument("--min-duration", type=int_in(0), metavar="SECS", help="calls at least this long")
    c.add_argument("--max-duration", type=int_in(0), metavar="SECS", help="calls at most this long")
    c.add_argument("--tool", action="append", default=[], metavar="NAME",
                   help="calls that used this tool (repeatable: any of them)")
    c.add_argument("--language", action="append", default=[], metavar="CODE",
                   help="calls in this main language, e.g. en (repeatable: any of them)")
    c.add_argument("--criterion", action="append", default=[], metavar="ID:RESULT",
                   help="calls whose evaluation criterion had this result, e.g. confirms_booking:failure "
                        "(repeatable: all of them)")
