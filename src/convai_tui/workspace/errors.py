"""Workspace errors (no heavy imports: the CLI imports these at start-up)."""

from __future__ import annotations

from pathlib import Path


class WorkspaceError(Exception):
    """Anything wrong with the workspace files; the message is for the user."""


class FileFormatError(WorkspaceError):
    """A file that cannot be used as it is: ``path:line:col: what is wrong``."""

    def __init__(self, path: Path, line: int, col: int, message: str) -> None:
        self.path, self.line, self.col, self.detail = path, line, col, message
        super().__init__(f"{path}:{line}:{col}: {message}")


class ExternalEditConflict(WorkspaceError):
    """The file changed on disk since it was loaded; saving would clobber that edit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} was changed on disk by someone else since it was loaded; "
                         "reload it, save your version under another name, or overwrite deliberately.")
