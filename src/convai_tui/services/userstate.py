"""Per-user files outside any workspace: the agent last opened on each server (state) and the rows
of the conversation list last shown for a (server, agent, filters) (a display cache).

* State: ``$XDG_STATE_HOME/convai-tui/last-agent.json`` (``~/.local/state/convai-tui/``): one agent id
  per server, keyed by the server's URL without any credentials or query (``demo`` for ``--demo``);
  at most :data:`MAX_SERVERS` servers, the most recent kept.
* Display cache: ``$XDG_CACHE_HOME/convai-tui/rows/<hash>.json`` (``~/.cache/convai-tui/``): at most
  :data:`MAX_CACHED_ROWS` rows of one list, the fields a row shows and nothing else; the name is a
  hash of (server, agent, filters); at most :data:`MAX_CACHE_FILES` files, the oldest removed.

Neither ever holds the API key. Both are written atomically (a new file created exclusively beside
the old one, mode ``0600``, then renamed over it) in directories of mode ``0700``. Reading never
trusts them: a file that is not a small regular file, not JSON, or not of the expected shape is
ignored as if absent (a cached row is API text: the pane renders it through the same sanitiser as
a fresh one). Failing to write either is never an error: they only make the next start faster.

Imports nothing heavy: the TUI reads both before its first frame.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

APP_DIR = "convai-tui"
STATE_FILE = "last-agent.json"
MAX_SERVERS = 32
MAX_STATE_BYTES = 64 * 1024
MAX_CACHED_ROWS = 100
MAX_CACHE_BYTES = 512 * 1024
MAX_CACHE_FILES = 64
MAX_ID = 256  # longest agent or conversation id kept
MAX_TEXT = 300  # longest title kept (a row shows at most 60 characters of it)

_O_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _xdg(env: Mapping[str, str] | None, var: str, default: str) -> Path:
    env = os.environ if env is None else env
    base = env.get(var) or ""
    if not os.path.isabs(base):  # the XDG rule: a relative path is invalid and ignored
        base = str(Path(env.get("HOME") or Path.home()) / default)
    return Path(base) / APP_DIR


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(env, "XDG_STATE_HOME", ".local/state")


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(env, "XDG_CACHE_HOME", ".cache")


def server_key(base_url: str, *, demo: bool = False, demo_options: Mapping[str, Any] | None = None) -> str:
    """What identifies a server in these files: scheme, host (lower case), port and path; never a user,
    a password, a query or a fragment. The demo's emulator changes port on every launch: ``demo``
    (with its data options, which change what it serves)."""
    if demo:
        opts = json.dumps(dict(demo_options or {}), sort_keys=True, default=str)
        return "demo" if opts == "{}" else f"demo {opts}"
    try:
        p = urlsplit(base_url.strip())
        host = (p.hostname or "").lower()
        port = f":{p.port}" if p.port else ""
    except ValueError:
        return ""
    return f"{p.scheme.lower()}://{host}{port}{p.path.rstrip('/')}"


# ---------------------------------------------------------------------------- files
def _read_small(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file of at most ``limit`` bytes; None for anything else (never blocks)."""
    try:
        fd = os.open(path, _O_READ)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        data = os.read(fd, limit + 1)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> bool:
    """``data`` into ``path`` atomically, mode 0600, in a 0700 directory. False if it could not be done."""
    from ..workspace.errors import WorkspaceError
    from ..workspace.files import atomic_write

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(path, data, mode=0o600)
        return True
    except (OSError, WorkspaceError):
        return False


def _load_json(path: Path, limit: int) -> Any:
    raw = _read_small(path, limit)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID and value.isprintable()


# ---------------------------------------------------------------------------- the last agent
def read_last_agent(server: str, env: Mapping[str, str] | None = None) -> str | None:
    """The agent last opened on ``server`` (see :func:`server_key`), or None (none, or an unusable file)."""
    if not server:
        return None
    data = _load_json(state_dir(env) / STATE_FILE, MAX_STATE_BYTES)
    servers = data.get("servers") if isinstance(data, dict) and data.get("convai_tui_state") == 1 else None
    entry = servers.get(server) if isinstance(servers, dict) else None
    agent = entry.get("agent") if isinstance(entry, dict) else None
    return agent if _is_id(agent) else None


def remember_agent(server: str, agent_id: str, env: Mapping[str, str] | None = None) -> bool:
    """Record ``agent_id`` as the last agent opened on ``server`` (no-op when it already is)."""
    if not server or not _is_id(agent_id):
        return False
    path = state_dir(env) / STATE_FILE
    data = _load_json(path, MAX_STATE_BYTES)
    servers = data.get("servers") if isinstance(data, dict) and data.get("convai_tui_state") == 1 else None
    kept: dict[str, dict[str, Any]] = {}
    if isinstance(servers, dict):
        for k, v in servers.items():
            if isinstance(k, str) and isinstance(v, dict) and _is_id(v.get("agent")) \
                    and isinstance(v.get("at"), (int, float)):
                kept[k] = {"agent": v["agent"], "at": v["at"]}
    if kept.get(server, {}).get("agent") == agent_id:
        return True
    kept[server] = {"agent": agent_id, "at": int(time.time())}
    newest = sorted(kept.items(), key=lambda kv: kv[1]["at"], reverse=True)[:MAX_SERVERS]
    body = {"convai_tui_state": 1, "servers": dict(newest)}
    return _write_private(path, json.dumps(body, ensure_ascii=True, indent=1).encode("ascii"))


def forget_agent(server: str, agent_id: str, env: Mapping[str, str] | None = None) -> None:
    """Drop ``server``'s entry if it still names ``agent_id`` (the agent is gone)."""
    path = state_dir(env) / STATE_FILE
    data = _load_json(path, MAX_STATE_BYTES)
    servers = data.get("servers") if isinstance(data, dict) and data.get("convai_tui_state") == 1 else None
    if not isinstance(servers, dict) or not isinstance(servers.get(server), dict) \
            or servers[server].get("agent") != agent_id:
        return
    del servers[server]
    _write_private(path, json.dumps({"convai_tui_state": 1, "servers": servers}, ensure_ascii=True,
                                    indent=1).encode("ascii"))


# ---------------------------------------------------------------------------- the display cache
class CachedRow:
    """A row of the conversation list as last shown: the fields of a conversation summary the row
    uses, under the same names, so the pane renders it with the same code (and the same sanitiser)."""

    __slots__ = ("conversation_id", "start_time_unix_secs", "call_duration_secs", "call_successful", "status",
                 "call_summary_title", "main_language", "rating", "feedback")
    FIELDS = __slots__

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.FIELDS, values):
            setattr(self, name, value)

    @property
    def extra_fields(self) -> dict[str, Any]:
        return {"feedback": self.feedback} if self.feedback else {}

    @classmethod
    def of(cls, summary: Any) -> "CachedRow":
        """From a conversation summary (a model or anything with its attributes)."""
        extra = getattr(summary, "extra_fields", None) or {}
        fb = extra.get("feedback") if isinstance(extra, dict) else None

        def cut(value: Any, n: int) -> Any:
            return value[:n] if isinstance(value, str) else value

        return cls(summary.conversation_id, summary.start_time_unix_secs, summary.call_duration_secs,
                   cut(summary.call_successful, 32), cut(summary.status, 32), cut(summary.call_summary_title, MAX_TEXT),
                   cut(summary.main_language, 32), summary.rating, fb if fb in ("like", "dislike") else None)

    def to_list(self) -> list[Any]:
        return [getattr(self, f) for f in self.FIELDS]

    @classmethod
    def from_list(cls, v: Any) -> "CachedRow | None":
        """A row read back, or None when anything in it is not what :meth:`to_list` writes."""
        if not (isinstance(v, list) and len(v) == len(cls.FIELDS)):
            return None
        cid, start, dur, ok, status, title, lang, rating, fb = v
        num = (int, float)
        if not _is_id(cid) or type(start) is not int or not (dur is None or (isinstance(dur, num)
                                                                              and not isinstance(dur, bool))):
            return None
        for s, n in ((ok, 32), (status, 32), (title, MAX_TEXT), (lang, 32)):
            if not (s is None or (isinstance(s, str) and len(s) <= n)):
                return None
        if not (rating is None or (type(rating) in (int, float) and 0 <= rating <= 5)):
            return None
        if fb not in (None, "like", "dislike"):
            return None
        return cls(cid, start, dur, ok, status, title, lang, rating, fb)


def _rows_path(server: str, agent_id: str, filters: str, env: Mapping[str, str] | None) -> tuple[Path, str]:
    key = hashlib.sha256("\0".join((server, agent_id, filters)).encode("utf-8", "replace")).hexdigest()
    return cache_dir(env) / "rows" / f"{key[:40]}.json", key


def read_rows(server: str, agent_id: str, filters: str,
              env: Mapping[str, str] | None = None) -> tuple[list[CachedRow], float] | None:
    """The rows last shown for (server, agent, filters) and when they were saved (unix time); None
    when there are none or the file is unusable."""
    if not server or not _is_id(agent_id):
        return None
    path, key = _rows_path(server, agent_id, filters, env)
    data = _load_json(path, MAX_CACHE_BYTES)
    if not (isinstance(data, dict) and data.get("convai_tui_rows") == 1 and data.get("key") == key):
        return None
    saved, raw = data.get("saved"), data.get("rows")
    if not isinstance(saved, (int, float)) or not isinstance(raw, list) or not 0 < len(raw) <= MAX_CACHED_ROWS:
        return None
    rows = [CachedRow.from_list(v) for v in raw]
    if any(r is None for r in rows):
        return None
    if len({r.conversation_id for r in rows}) != len(rows):  # type: ignore[union-attr]
        return None
    return rows, float(saved)  # type: ignore[return-value]


def write_rows(server: str, agent_id: str, filters: str, rows: list[CachedRow],
               env: Mapping[str, str] | None = None) -> bool:
    """Keep the first :data:`MAX_CACHED_ROWS` of ``rows`` as the list last shown for (server, agent, filters)."""
    if not server or not _is_id(agent_id) or not rows:
        return False
    path, key = _rows_path(server, agent_id, filters, env)
    body = {"convai_tui_rows": 1, "key": key, "saved": int(time.time()),
            "rows": [r.to_list() for r in rows[:MAX_CACHED_ROWS]]}
    data = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    if len(data) > MAX_CACHE_BYTES or not _write_private(path, data):
        return False
    _prune(path.parent)
    return True


def _prune(directory: Path) -> None:
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(".json") and e.is_file(follow_symlinks=False)]
        if len(entries) <= MAX_CACHE_FILES:
            return
        entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime)
        for e in entries[:len(entries) - MAX_CACHE_FILES]:
            os.unlink(e.path)
    except OSError:
        pass
