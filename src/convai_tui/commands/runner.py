"""Run a headless command: settings -> session -> the command's body -> an exit code.

Exit codes: 0 ok · 1 a test or simulation failed · 2 usage or configuration error (also: the output
cannot be written) · 3 conflict · 4 API error (auth, network, server) · 130 interrupted ·
141 the reader of stdout went away (``| head``), quietly, as a program killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Awaitable, Callable

from ..services.errors import ConfigError, ConflictError, ConvAIError, ExternalEditConflict, UsageError, WorkspaceError
from ..services.session import ConfigFlags, Session, resolve_settings
from .output import Output

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFLICT, EXIT_API, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 3, 4, 130, 141

Body = Callable[[Session, Output], Awaitable[int]]


def flags_of(args: argparse.Namespace) -> ConfigFlags:
    return ConfigFlags(api_key_file=getattr(args, "api_key_file", None), base_url=getattr(args, "base_url", None),
                       workspace=getattr(args, "workspace", None), agent=getattr(args, "agent", None),
                       demo=bool(getattr(args, "demo", False)),
                       trust_workspace_url=bool(getattr(args, "trust_workspace_url", False)))


def run(args: argparse.Namespace, body: Body) -> int:
    out = Output()
    try:
        return _run(args, body, out)
    except BrokenPipeError:
        # stdout's reader is gone: say nothing more, and do not let the interpreter's final flush fail
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_PIPE
    except OSError as exc:  # stdout or stderr cannot be written (a full disk, a closed terminal)
        try:
            out.error(f"cannot write the output: {exc.strerror or exc}")
        except OSError:
            pass
        return EXIT_USAGE


def _run(args: argparse.Namespace, body: Body, out: Output) -> int:
    try:
        settings = resolve_settings(flags_of(args))
    except (ConfigError, WorkspaceError) as exc:
        out.error(f"error: {exc}")
        return EXIT_USAGE
    for w in settings.warnings:
        out.warn(w)
    session = Session(settings)
    session.on_start = lambda s: out.note(f"server: {s.server_label}")

    async def main() -> int:
        try:
            return await body(session, out)
        finally:
            await session.close()

    try:
        code = asyncio.run(main())
        out.flush()
        return code
    except KeyboardInterrupt:
        out.error("interrupted")
        return EXIT_INTERRUPTED
    except (UsageError, ConfigError) as exc:
        out.error(f"error: {session.redact(str(exc))}")
        return EXIT_USAGE
    except (ConflictError, ExternalEditConflict) as exc:
        out.error(session.redact(str(exc)))
        return EXIT_CONFLICT
    except WorkspaceError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except ConvAIError as exc:
        out.error(session.redact(str(exc)))
        return EXIT_API


def warn_problems(session: Session, out: Output) -> None:
    """Workspace files that were skipped because they are malformed (each once)."""
    ws = session.workspace
    for p in ws.problems:
        out.warn(f"skipped {p}")
    ws.problems.clear()
