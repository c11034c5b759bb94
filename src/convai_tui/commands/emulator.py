"""``serve-emulator``: the offline API emulator in the foreground."""

from __future__ import annotations

import argparse

from .output import Output
from .runner import EXIT_USAGE


def cmd_serve_emulator(args: argparse.Namespace) -> int:
    from ..emulator.faults import Fault
    from ..emulator.server import is_loopback, serve_forever
    from ..emulator.state import EmulatorConfig

    out = Output()
    if not is_loopback(args.host) and not args.allow_remote:
        out.error(f"error: refusing to bind {args.host}: not a loopback address (pass --allow-remote to insist)")
        return EXIT_USAGE
    faults = []
    for spec in args.faults:
        try:
            faults.append(Fault.parse(spec))
        except ValueError as exc:
            out.error(f"error: --faults {spec!r}: {exc}")
            return EXIT_USAGE
    cfg = EmulatorConfig(seed=args.seed, conversations=args.conversations, latency_ms=args.latency_ms,
                         latency_jitter_ms=args.latency_jitter_ms, stream_delay_ms=args.stream_delay_ms,
                         test_delay_ms=args.test_delay_ms, open=args.open, legacy_simulate=not args.no_legacy_simulate,
                         strict=args.strict, drift=args.drift, conversations_agent=args.conversations_agent,
                         max_concurrent=args.max_concurrent, retry_after_s=args.retry_after)
    problems = cfg.problems()
    if problems:
        out.error("error: " + "; ".join(problems))
        return EXIT_USAGE
    if args.strict:
        try:
            import jsonschema  # noqa: F401
        except ImportError:
            out.error("error: --strict needs the jsonschema package (pip install 'convai-tui[test]')")
            return EXIT_USAGE
    return serve_forever(cfg, args.host, args.port, faults=faults, error=out.error)
