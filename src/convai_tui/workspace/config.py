"""``convai.toml``: the workspace's own settings (``base_url``, ``default_agent``), never a secret.

The one reader of that file: the session (configuration) and the workspace store both use it. It
imports no pydantic, so the command line can read the file before anything heavy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FileFormatError

CONFIG_NAME = "convai.toml"
_SECRET_WORDS = ("key", "token", "secret", "password")


@dataclass
class WorkspaceConfig:
    base_url: str | None = None
    default_agent: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {k: v for k, v in (("base_url", self.base_url), ("default_agent", self.default_agent)) if v}


def _line_of(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key):
            return n
    return 1


def parse_config(path: Path, text: str, data: dict[str, Any]) -> WorkspaceConfig:
    """Validate the parsed TOML of a ``convai.toml``; errors are ``path:line:col: ...``."""
    cfg = WorkspaceConfig()
    for key, value in data.items():
        if any(w in str(key).lower() for w in _SECRET_WORDS):
            raise FileFormatError(path, _line_of(text, str(key)), 1,
                                  f"{key!r} does not belong here: secrets never go in the workspace; "
                                  "set ELEVENLABS_API_KEY or use --api-key-file")
        if key not in ("base_url", "default_agent"):
            raise FileFormatError(path, _line_of(text, str(key)), 1,
                                  f"{key}: unknown setting (known: base_url, default_agent)")
        if not isinstance(value, str) or not value.strip():
            raise FileFormatError(path, _line_of(text, key), 1, f"{key}: must be a non-empty string")
        setattr(cfg, key, value.strip())
    return cfg


def read_config(root: Path) -> tuple[WorkspaceConfig, str | None]:
    """The workspace's settings and the digest of the file as read (None: no file)."""
    path = root / CONFIG_NAME
    if not path.exists():  # (before importing the file helpers: most starts have no convai.toml)
        return WorkspaceConfig(), None
    from . import files as F

    loaded = F.read(path)  # a syntax error or a binary file is a FileFormatError with its position
    return parse_config(path, loaded.text, loaded.data), loaded.digest
