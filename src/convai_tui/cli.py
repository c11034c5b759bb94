"""The ``convai-tui`` command: the TUI by default, headless subcommands for scripts and CI.

Exit codes: 0 ok; 1 a test or simulation failed; 2 usage or configuration error;
3 conflict (the remote changed since the last pull); 4 API error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFLICT, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def _read_key_file(path: str | None) -> str | None:
    if not path:
        return None
    try:
        key = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SystemExit(_usage_error(f"cannot read the API key file {path}: {exc.strerror}"))
    if not key:
        raise SystemExit(_usage_error(f"the API key file {path} is empty"))
    return key


def _usage_error(msg: str) -> int:
    print(f"convai-tui: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


def _common_options() -> argparse.ArgumentParser:
    """Options every subcommand takes (also accepted after the subcommand name)."""
    c = argparse.ArgumentParser(add_help=False)
    S = argparse.SUPPRESS
    c.add_argument("--base-url", default=S, help="API base URL (default: $ELEVENLABS_BASE_URL, the workspace's "
                                                 "convai.toml, or https://api.elevenlabs.io)")
    c.add_argument("--api-key-file", default=S, help="read the API key from this file instead of "
                                                     "$ELEVENLABS_API_KEY")
    c.add_argument("--workspace", "-w", default=S, help="workspace directory (default: the current directory)")
    c.add_argument("--demo", action="store_true", default=S, help="use an in-process offline emulator")
    c.add_argument("--json", action="store_true", default=S, help="machine-readable output on stdout")
    return c


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="convai-tui",
        description="A terminal workbench for ElevenLabs conversational agents. "
                    "With no subcommand, opens the TUI.",
        epilog="Environment: ELEVENLABS_API_KEY (the key), ELEVENLABS_BASE_URL (API base URL), NO_COLOR. "
               "Exit codes: 0 ok, 1 a test or simulation failed, 2 usage/config, 3 conflict, 4 API error.",
    )
    p.add_argument("--demo", action="store_true",
                   help="run against the bundled offline emulator with demo data (no key needed)")
    p.add_argument("--base-url", help="API base URL (default: $ELEVENLABS_BASE_URL or https://api.elevenlabs.io)")
    p.add_argument("--api-key-file", help="read the API key from this file instead of $ELEVENLABS_API_KEY")
    p.add_argument("--agent", help="agent id to open first")
    p.add_argument("--demo-conversations", type=int, default=None, metavar="N",
                   help="with --demo: how many conversations the emulator seeds (default 2000, max 100000)")
    p.add_argument("--workspace", "-w", default=None, help="workspace directory (default: current directory)")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_options()

    s = sub.add_parser("serve-emulator", help="run the offline ConvAI API emulator on loopback",
                       description="Serve the offline emulator: the ConvAI paths, JSON, stream framing and "
                                   "errors, with seeded demo data. Stops cleanly on Ctrl-C.")
    s.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; loopback only "
                                                        "unless --allow-remote)")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--seed", type=int, default=7, help="seed for the demo data (default 7)")
    s.add_argument("--conversations", type=int, default=2000, help="number of seeded conversations (max 100000)")
    s.add_argument("--conversations-agent", metavar="AGENT_ID", default=None,
                   help="put every seeded conversation on this demo agent (e.g. agent_dental_bella)")
    s.add_argument("--latency-ms", type=int, default=0, help="added latency for every API request")
    s.add_argument("--latency-jitter-ms", type=int, default=0, metavar="J",
                   help="plus a uniform 0..J ms per request (seeded RNG: the same run gives the same delays)")
    s.add_argument("--max-concurrent", type=int, default=0, metavar="N",
                   help="answer 429 too_many_concurrent_requests (with Retry-After) to requests beyond N in "
                        "flight, as the real API does (default 0: no limit)")
    s.add_argument("--retry-after", type=int, default=1, metavar="SECS",
                   help="the Retry-After of those 429s (default 1)")
    s.add_argument("--stream-delay-ms", type=int, default=120, help="delay between streamed turns")
    s.add_argument("--test-delay-ms", type=int, default=1500, help="how long test runs stay pending")
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
    s.set_defaults(func=cmd_serve_emulator)

    from .commands import workspace_cmds

    workspace_cmds.add_parsers(sub, common)
    t = sub.add_parser("tests", help="agent tests: sync with the workspace")
    ts = t.add_subparsers(dest="tests_cmd", metavar="ACTION", required=True)
    workspace_cmds.add_tests_sync_parsers(ts, common)
    from .commands import ci_cmds

    ci_cmds.add_parsers(sub, common, ts)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from . import startup
    from .timeline import mark

    mark("main")
    startup.begin()  # fewer collector passes while start-up builds its long-lived objects
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        startup.end(freeze=False)
        raise
    try:
        if args.command is None:
            try:
                return cmd_tui(args)  # the app restores the collector once its first rows are up
            finally:
                startup.end(freeze=False)  # a no-op then; covers a TUI that never started
        startup.end(freeze=False)  # headless commands: the usual collector from here on
        return args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def cmd_serve_emulator(args: argparse.Namespace) -> int:
    from .emulator.faults import Fault
    from .emulator.server import is_loopback, serve_forever
    from .emulator.state import EmulatorConfig

    if not is_loopback(args.host) and not args.allow_remote:
        return _usage_error(f"refusing to bind {args.host}: not a loopback address (pass --allow-remote to insist)")
    if not 0 <= args.port <= 65535:
        return _usage_error("--port must be between 0 and 65535")
    faults = []
    for spec in args.faults:
        try:
            faults.append(Fault.parse(spec))
        except ValueError as exc:
            return _usage_error(f"--faults {spec!r}: {exc}")
    cfg = EmulatorConfig(seed=args.seed, conversations=args.conversations, latency_ms=args.latency_ms,
                         latency_jitter_ms=args.latency_jitter_ms, stream_delay_ms=args.stream_delay_ms,
                         test_delay_ms=args.test_delay_ms, open=args.open, legacy_simulate=not args.no_legacy_simulate,
                         strict=args.strict, drift=args.drift, conversations_agent=args.conversations_agent,
                         max_concurrent=args.max_concurrent, retry_after_s=args.retry_after)
    problems = cfg.problems()
    if problems:
        return _usage_error("; ".join(problems))
    if args.strict:
        try:
            import jsonschema  # noqa: F401
        except ImportError:
            return _usage_error("--strict needs the jsonschema package (pip install 'convai-tui[test]')")
    return serve_forever(cfg, args.host, args.port, faults=faults,
                         error=lambda msg: print(msg, file=sys.stderr))


def cmd_tui(args: argparse.Namespace) -> int:
    try:
        from .tui.app import run_tui
    except ImportError:
        return _usage_error("the TUI is not available in this build")
    key = _read_key_file(args.api_key_file) or os.environ.get("ELEVENLABS_API_KEY")
    demo_opts = {}
    if args.demo_conversations is not None:
        if not 0 <= args.demo_conversations <= 100_000:
            return _usage_error("--demo-conversations must be between 0 and 100000")
        demo_opts["conversations"] = args.demo_conversations
    return run_tui(demo=args.demo, base_url=args.base_url, api_key=key, agent_id=args.agent,
                   workspace=args.workspace, demo_options=demo_opts)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
