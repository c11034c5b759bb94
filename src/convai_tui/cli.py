"""The ``convai-tui`` command: the TUI by default, headless subcommands (``commands/``) for scripts and CI.

Exit codes: 0 ok; 1 a test or simulation failed; 2 usage or configuration error; 3 conflict (the remote
changed since the last pull); 4 API error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from . import startup
    from .timeline import mark

    mark("main")
    startup.begin()  # fewer collector passes while start-up builds its long-lived objects
    from .commands.parser import build_parser, dispatch

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (2) or --help (0): argparse has said why
        startup.end(freeze=False)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if args.command is None:
            try:
                return cmd_tui(args)  # the app restores the collector once its first rows are up
            finally:
                startup.end(freeze=False)  # a no-op then; covers a TUI that never started
        startup.end(freeze=False)  # headless commands: the usual collector from here on
        return dispatch(args)
    except KeyboardInterrupt:
        return 130


def cmd_tui(args: argparse.Namespace) -> int:
    from .commands.output import Output
    from .commands.runner import EXIT_USAGE, flags_of
    from .services.errors import ConfigError, WorkspaceError
    from .services.session import resolve_settings

    out = Output()
    flags = flags_of(args)
    if args.demo_conversations is not None:
        from dataclasses import replace

        flags = replace(flags, emulator_options={"conversations": args.demo_conversations})
    try:
        settings = resolve_settings(flags)
    except (ConfigError, WorkspaceError) as exc:
        out.error(f"error: {exc}")
        return EXIT_USAGE
    try:
        from .tui.app import run_tui
    except ImportError:
        out.error("error: the TUI is not available in this build")
        return EXIT_USAGE
    return run_tui(settings)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
