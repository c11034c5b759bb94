"""Typed errors of the service layer. Each message is for the user; the front ends map the class to
an exit code (CLI) or a notification (TUI). Light: imported at start-up."""

from __future__ import annotations

from ..api.errors import ConfigError, ConvAIError
from ..workspace.errors import ExternalEditConflict, FileFormatError, WorkspaceError

__all__ = ["ConfigError", "ConvAIError", "ExternalEditConflict", "FileFormatError", "WorkspaceError",
           "ServiceError", "UsageError", "TargetError", "ConflictError"]


class ServiceError(Exception):
    """Base of the errors the services raise themselves (API and workspace errors pass through)."""


class UsageError(ServiceError):
    """The request cannot be carried out as asked: a bad value, a missing choice ("which agent?")."""


class TargetError(UsageError):
    """A run target that does not exist or cannot be used as it is (a missing or invalid draft, an
    unknown version or branch). Never answered by silently running something else."""


class ConflictError(ServiceError):
    """Someone else changed the remote (or a file) in a way that a write would clobber or did race."""
