"""Shared plumbing for the headless subcommands: clients, output, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from ..api.errors import ConfigError, ConvAIError
from ..workspace.errors import ExternalEditConflict, WorkspaceError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFLICT, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class UsageError(Exception):
    """A bad command line or configuration (exit 2)."""


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def read_key(args: Any) -> str | None:
    path = getattr(args, "api_key_file", None)
    if path:
        try:
            key = Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read the API key file {path}: {exc.strerror}") from None
        if not key:
            raise UsageError(f"the API key file {path} is empty")
        return key
    return os.environ.get("ELEVENLABS_API_KEY")


def workspace_root(args: Any) -> Path:
    return Path(getattr(args, "workspace", None) or os.getcwd())


@asynccontextmanager
async def open_client(args: Any) -> AsyncIterator[Any]:
    """A ConvAIClient for the configured API, or for an in-process emulator with --demo."""
    from ..api.client import ConvAIClient

    server = None
    if getattr(args, "demo", False):
        from ..emulator.server import EmulatorServer

        server = EmulatorServer()
        server.start()
        await asyncio.to_thread(server.wait_ready, 60.0)
        client = ConvAIClient(server.api_key, base_url=server.base_url)
    else:
        base = getattr(args, "base_url", None)
        if not base:
            from ..workspace.store import Workspace

            try:
                base = Workspace(workspace_root(args)).config().base_url
            except WorkspaceError:
                base = None
        key = read_key(args)
        if not key:
            raise UsageError("no API key: set ELEVENLABS_API_KEY or pass --api-key-file (or use --demo)")
        client = ConvAIClient(key, base_url=base)
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)


def run(coro_fn: Callable[[], Awaitable[int]]) -> int:
    """Run an async command, mapping errors to messages and exit codes."""
    try:
        return asyncio.run(coro_fn())
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    except UsageError as exc:
        err(f"convai-tui: error: {exc}")
        return EXIT_USAGE
    except ConfigError as exc:
        err(f"convai-tui: error: {exc}")
        return EXIT_USAGE
    except WorkspaceError as exc:
        err(f"convai-tui: {exc}")
        return EXIT_CONFLICT if isinstance(exc, ExternalEditConflict) else EXIT_USAGE
    except ConvAIError as exc:
        err(f"convai-tui: {exc}")
        return EXIT_API
