"""TOML files on disk: atomic writes, precise errors, external-edit detection.

* Reading: ``tomllib``; a syntax error becomes ``path:line:col: message``; a file whose
  types are wrong is reported by :func:`validate` at the line of the offending key.
* Writing: ``tomli-w`` with multi-line strings (prompts stay readable in a diff), to a
  temporary file in the same directory, flushed and fsynced, then ``os.replace``d over
  the old one, then the directory is fsynced: a crash leaves the old or the new file,
  never a mix. A failed write (disk full, read-only) removes the temporary file and
  leaves the old file untouched.
* Every loaded file remembers its SHA-256; :meth:`TomlFile.save` refuses to overwrite a
  file that changed on disk since (someone else's edit) unless told to.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TextIO

import tomli_w

if TYPE_CHECKING:  # pydantic is imported on first validation: reading convai.toml at start-up needs none
    from pydantic import BaseModel


from .errors import ExternalEditConflict, FileFormatError, WorkspaceError  # noqa: E402,F401


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_LINE_COL = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_toml(path: Path, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileFormatError(path, line, col, "not valid UTF-8 (is this a binary file?)") from None
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise FileFormatError(path, line, i - (text.rfind("\n", 0, i) + 1) + 1, "NUL byte: not a text file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _LINE_COL.search(msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        raise FileFormatError(path, line, col, _LINE_COL.sub("", msg).strip() or "invalid TOML") from None


def dump_toml(data: dict[str, Any]) -> bytes:
    return tomli_w.dumps(_normalise(data), multiline_strings=True).encode("utf-8")


def _normalise(value: Any) -> Any:
    """Line endings become LF (TOML multi-line strings cannot keep CR), None values go."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normalise(v) for v in value if v is not None]
    return value


def key_position(text: str, loc: tuple[Any, ...]) -> tuple[int, int]:
    """Best-effort line/column of the key at ``loc`` (a pydantic error location)."""
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if not parts:
        return 1, 1
    want_table, key = parts[:-1], parts[-1]
    table: list[str] = []
    fallback: tuple[int, int] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            table = [p.strip().strip('"') for p in m.group(1).split(".")]
            continue
        km = re.match(r'^("?)([^"=\s]+)\1\s*=', line)
        if km and km.group(2) == key:
            col = raw.index(km.group(2)) + 1 - (1 if km.group(1) else 0)
            if table == want_table:
                return n, col
            fallback = fallback or (n, col)
    if fallback:
        return fallback
    # a missing key: point at its table header (or the top of the file)
    for n, raw in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", raw)
        if m and [p.strip() for p in m.group(1).split(".")] == want_table:
            return n, 1
    return 1, 1


def validate(path: Path, text: str, data: dict[str, Any], model: "type[BaseModel]") -> "BaseModel":
    from pydantic import ValidationError as PydanticValidationError

    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err.get("loc", ()))
        line, col = key_position(text, loc)
        where = ".".join(str(p) for p in loc) or "(file)"
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise FileFormatError(path, line, col, f"{where}: {err.get('msg', 'invalid value')}{more}") from None


@dataclass
class Loaded:
    path: Path
    data: dict[str, Any]
    digest: str  # sha256 of the bytes as loaded (for external-edit detection)
    text: str = ""  # the file's text as parsed (for error positions)


def read(path: Path) -> Loaded:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkspaceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise WorkspaceError(f"{path}: is a directory, expected a TOML file") from None
    except PermissionError:
        raise WorkspaceError(f"{path}: permission denied") from None
    data = parse_toml(path, raw)
    return Loaded(path, data, sha256(raw), raw.decode("utf-8"))


def current_digest(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except FileNotFoundError:
        return None


def atomic_write(path: Path, data: bytes, *, expected_digest: str | None | bool = False) -> str:
    """Write ``data`` to ``path`` atomically; returns the new digest.

    ``expected_digest``: ``False`` skips the check; ``None`` means "the file must not exist
    yet"; a digest means "the file must still be what I loaded".
    """
    if expected_digest is not False:
        now = current_digest(path)
        if now != expected_digest:
            raise ExternalEditConflict(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            try:
                os.chmod(tmp, path.stat().st_mode & 0o777)
            except OSError:
                pass
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WorkspaceError(_os_message(path, exc)) from None
    _fsync_dir(directory)
    return sha256(data)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _os_message(path: Path, exc: OSError, what: str = "not saved") -> str:
    if exc.errno == errno.ENOSPC:
        return f"{path}: {what}: the disk is full (the previous version is intact)."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path}: {what}: the workspace is read-only or not writable (the previous version is intact)."
    return f"{path}: {what}: {exc.strerror or exc} (the previous version is intact)."


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def safe_filename(name: str, *, default: str = "untitled", max_len: int = 80) -> str:
    """A file name derived from user text that cannot escape its directory.

    Keeps letters (any script), digits, ``-`` and ``_``; everything else becomes ``-``.
    ``../../x`` -> ``x``; NUL, ``/`` and ``\\`` never survive; Windows device names get a suffix.
    """
    s = "".join(ch if (ch.isalnum() or ch in "-_") else "-" for ch in name.strip())
    s = re.sub(r"-{2,}", "-", s).strip("-_.")
    s = s[:max_len].rstrip("-_") or default
    if s.lower() in _RESERVED:
        s += "_"
    return s


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def exclusive_output(path: Path) -> Iterator[TextIO]:
    """A text file that appears at ``path`` only once it is complete.

    It is written to a new temporary file beside ``path``, created exclusively with a random name (a
    file or a symlink someone placed there is never opened or followed), with the permissions the
    umask gives, then renamed over ``path``. On any error the temporary file is removed and the error
    is a :class:`WorkspaceError` saying what happened; ``path`` is untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise WorkspaceError(f"{path}: is a directory; give a file name")
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc, "not written")) from None
    done = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        done = True
        _fsync_dir(directory)
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc, "not written")) from None
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def create_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, complete or not at all, and only if no file of that name exists:
    written to an exclusively created temporary file beside it, fsynced, then hard-linked into place
    (``link`` fails when the name is taken, so two writers can never replace each other's file)."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc, "not written")) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ExternalEditConflict(path) from None
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc, "not written")) from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _fsync_dir(directory)
