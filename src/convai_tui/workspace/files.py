"""TOML files on disk: atomic writes, precise errors, external-edit detection.

* Reading: ``tomllib``; a syntax error becomes ``path:line:col: message``; a file whose
  types are wrong is reported by :func:`validate` at the line of the offending key. Nothing
  in a file can make reading fail otherwise: a file over ``MAX_FILE_BYTES`` (10 MiB), one
  nested more than ``MAX_NESTING`` (64) levels deep, a FIFO or a device (never opened in a way
  that could block) are all a :class:`FileFormatError` like a syntax error.
* Writing: ``tomli-w`` with multi-line strings (prompts stay readable in a diff), to a
  temporary file created exclusively (``O_EXCL|O_NOFOLLOW``) in the same directory with mode
  ``0o666 & ~umask`` (an existing file keeps its mode), flushed and fsynced, then
  ``os.replace``d over the old one, then the directory is fsynced: a crash leaves the old or
  the new file, never a mix. A failed write (disk full, read-only) removes the temporary file
  and leaves the old file untouched.
* A file that must not exist yet (``expected_digest=None``: a new version number, a new
  scenario) is created by ``os.link`` of the complete temporary file, which fails if any
  process created that name meanwhile: two processes can never both "create" one file.
* Every loaded file remembers its SHA-256; a save refuses to overwrite a file that changed on
  disk since (someone else's edit) unless told to.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TextIO

import tomli_w

if TYPE_CHECKING:  # pydantic is imported on first validation: reading convai.toml at start-up needs none
    from pydantic import BaseModel


from ..textutil import no_surrogates
from .errors import ExternalEditConflict, FileFormatError, WorkspaceError  # noqa: E402,F401

MAX_FILE_BYTES = 10 * 2**20  # a workspace TOML file larger than this is refused, not loaded
MAX_NESTING = 64  # arrays/tables nested deeper than this are refused (tomllib recurses)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_LINE_COL = re.compile(r"\(at line (\d+), column (\d+)\)")
# What can hide a bracket from the nesting count: strings (all four kinds) and comments.
_TOML_SKIP = re.compile(
    r'''"""(?:[^\\]|\\.)*?"""{0,2}|\'\'\'.*?\'\'\'\'{0,2}|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|\#[^\n]*|[\[\]{}]''',
    re.S)


def _position(text: str, i: int) -> tuple[int, int]:
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def _nesting_position(text: str) -> tuple[int, int] | None:
    """Where arrays/inline tables first nest deeper than ``MAX_NESTING``, or None."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = 0
    for m in _TOML_SKIP.finditer(text):
        c = m.group()
        if c == "[" or c == "{":
            depth += 1
            if depth > MAX_NESTING:
                return _position(text, m.start())
        elif c == "]" or c == "}":
            depth = max(0, depth - 1)
    return None


def nesting(value: Any, limit: int = MAX_NESTING) -> bool:
    """True when tables/arrays in ``value`` nest more than ``limit`` levels (iteratively)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values() if isinstance(x, (dict, list)))
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v if isinstance(x, (dict, list)))
    return False


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
    deep = f"nested more than {MAX_NESTING} levels deep"
    where = _nesting_position(text)
    if where is not None:
        raise FileFormatError(path, *where, deep)
    try:
        data_ = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _LINE_COL.search(msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        raise FileFormatError(path, line, col, _LINE_COL.sub("", msg).strip() or "invalid TOML") from None
    except RecursionError:
        raise FileFormatError(path, 1, 1, deep) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer with more than 4,300 digits
        raise FileFormatError(path, 1, 1, f"invalid value: {str(exc)[:120]}") from None
    if nesting(data_):  # deep through dotted keys and headers: a.b.c.d... = 1
        lines = text.split("\n")
        n = max(range(len(lines)), key=lambda k: lines[k].count(".") + lines[k].count("["))
        raise FileFormatError(path, n + 1, 1, deep)
    return data_


def dump_toml(data: dict[str, Any]) -> bytes:
    clean = _normalise(data)
    if nesting(clean):
        raise WorkspaceError(f"not saved: the data is nested more than {MAX_NESTING} levels deep "
                             "(it could not be loaded again).")
    return tomli_w.dumps(clean, multiline_strings=True).encode("utf-8")


def _normalise(value: Any) -> Any:
    """Line endings become LF (TOML multi-line strings cannot keep CR), lone surrogates (text that
    is not valid Unicode, e.g. from an undecodable command-line argument) become U+FFFD, None values go."""
    if isinstance(value, str):
        return no_surrogates(value.replace("\r\n", "\n"))
    if isinstance(value, dict):
        return {no_surrogates(str(k)): _normalise(v) for k, v in value.items() if v is not None}
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
    text: str = ""  # the file's text, as parsed


_O_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. A FIFO, a device or a socket is
    refused without blocking (``O_NONBLOCK``); a larger file is refused without reading it all."""
    try:
        fd = os.open(path, _O_READ)
    except FileNotFoundError:
        raise WorkspaceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise WorkspaceError(f"{path}: is a directory, expected a TOML file") from None
    except PermissionError:
        raise WorkspaceError(f"{path}: permission denied") from None
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise WorkspaceError(f"{path}: is a directory, expected a TOML file")
        if not stat.S_ISREG(st.st_mode):
            raise FileFormatError(path, 1, 1, "not a regular file (a FIFO, device or socket); not read")
        if st.st_size > limit:
            raise FileFormatError(path, 1, 1, f"the file is {st.st_size:,} bytes, more than the {limit:,} a "
                                              "workspace file may have; not loaded")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise FileFormatError(path, 1, 1, f"the file is more than the {limit:,} bytes a workspace file "
                                                  "may have; not loaded")
        return b"".join(chunks)
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read(path: Path) -> Loaded:
    raw = read_bytes(path)
    data = parse_toml(path, raw)
    return Loaded(path, data, sha256(raw), raw.decode("utf-8"))


def current_digest(path: Path) -> str | None:
    """The SHA-256 of the file now (streamed), None if there is none; a non-file never matches."""
    try:
        fd = os.open(path, _O_READ)
    except FileNotFoundError:
        return None
    except OSError:
        return "(unreadable)"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "(not a regular file)"
        h = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
        return h.hexdigest()
    except OSError:
        return "(unreadable)"
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, expected_digest: str | None | bool = False,
                 mode: int | None = None) -> str:
    """Write ``data`` to ``path`` atomically; returns the new digest.

    ``expected_digest``: ``False`` skips the check; ``None`` means "the file must not exist
    yet" (enforced atomically: :class:`ExternalEditConflict` if any process created it, even
    a moment before); a digest means "the file must still be what I loaded". ``mode``: the file's
    mode (e.g. ``0o600`` for per-user state); by default ``0o666 & ~umask``, or the existing file's."""
    if expected_digest is not False:
        now = current_digest(path)
        if now != expected_digest:
            raise ExternalEditConflict(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc)) from None
    keep_mode = mode
    if keep_mode is None and expected_digest is not None:
        try:
            keep_mode = os.stat(path).st_mode & 0o777  # an existing file keeps its mode
        except OSError:
            pass
    tmp = _write_temp(path, data, keep_mode)
    try:
        if expected_digest is None:
            _create_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WorkspaceError(_os_message(path, exc)) from None
        raise
    _fsync_dir(directory)
    return sha256(data)


_O_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _new_temp(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """An open, new temporary file beside ``path`` with a random name: created exclusively (never an
    existing file, never through a symlink someone planted), mode ``0o666 & ~umask``."""
    directory = path.parent
    for _ in range(100):
        tmp = directory / f".{path.name[:120]}.{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(tmp, _O_NEW, 0o666), tmp  # the kernel applies the umask
        except FileExistsError:
            continue
        except OSError as exc:
            raise WorkspaceError(_os_message(path, exc)) from None
    raise WorkspaceError(f"{path}: not saved: cannot create a temporary file beside it.")  # pragma: no cover


def _write_temp(path: Path, data: bytes, mode: int | None) -> Path:
    """A complete, fsynced temporary file beside ``path`` (see :func:`_new_temp`), mode ``mode`` if given."""
    fd, tmp = _new_temp(path)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WorkspaceError(_os_message(path, exc)) from None
    return tmp


_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}


def _create_exclusive(tmp: Path, path: Path) -> None:
    """Give the complete file ``tmp`` the name ``path`` only if no file has it (then ``tmp`` is gone)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ExternalEditConflict(path) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # a file system without hard links: claim the name exclusively, then fill it atomically
        try:
            os.close(os.open(path, _O_NEW, 0o666))
        except FileExistsError:
            raise ExternalEditConflict(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


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


@contextlib.contextmanager
def exclusive_output(path: Path) -> Iterator[TextIO]:
    """A text file that appears at ``path`` only once it is complete (an export, a report).

    It is written to a new temporary file beside ``path`` (:func:`_new_temp`: a file or a symlink
    someone placed there is never opened or followed), then renamed over ``path``. On any error the
    temporary file is removed and the error is a :class:`WorkspaceError` saying what happened; ``path``
    is untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise WorkspaceError(f"{path}: is a directory; give a file name")
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(_os_message(path, exc, "not written")) from None
    fd, tmp = _new_temp(path, ".partial")
    done = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
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
    """Create ``path`` with ``data``, complete or not at all, and only if no file of that name exists
    (:class:`ExternalEditConflict` otherwise): two writers can never replace each other's file."""
    atomic_write(path, data, expected_digest=None)
