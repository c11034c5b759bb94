"""The one service layer: both front ends (the TUI in ``tui/``, the headless commands in ``commands/``)
call it. It takes plain typed parameters, returns results or raises typed errors
(:mod:`convai_tui.services.errors`), and never prints. Configuration is resolved in exactly one
place: :func:`convai_tui.services.session.resolve_settings`.

By area: ``session`` (configuration, the client, the workspace, the demo emulator), ``agents``
(agents, branches), ``prompts`` (versions, the draft, pull/push, diffs, run targets),
``conversations``, ``tests``, ``simulations``; ``targets`` names what a run runs against.

Light at import (the TUI imports it before its first frame): httpx and pydantic load on first use.
"""

from __future__ import annotations

from .errors import ConflictError, ServiceError, TargetError, UsageError
from .session import ConfigFlags, Session, Settings, resolve_settings
from .targets import RunTarget

__all__ = ["ConfigFlags", "ConflictError", "RunTarget", "ServiceError", "Session", "Settings", "TargetError",
           "UsageError", "resolve_settings"]
