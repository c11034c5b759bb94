"""Guards against a misbehaving server: deadlines, size caps, pagination loops.

* :class:`Deadline` and :func:`deadline_scope`: a point in time after which a whole
  operation (retries and back-offs included) gives up with :class:`DeadlineExceeded`.
  A deadline is set for everything the current task does inside ``with
  client.deadline(seconds):``; nested deadlines take the earlier one.
* :class:`ContentDecoder`: decodes ``Content-Encoding`` (gzip, deflate) incrementally, in
  pieces of at most 256 KiB, and raises :class:`ResponseTooLarge` as soon as the decoded
  bytes pass a limit: a gzip bomb costs at most the limit in memory, never its full size.
* :class:`PageGuard`: raises :class:`PaginationError` when a cursor list repeats a cursor or
  keeps sending empty pages that say there is more.
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import time
import zlib
from contextlib import contextmanager
from typing import Any, Iterator

from . import errors as E

_current: contextvars.ContextVar["Deadline | None"] = contextvars.ContextVar("convai_deadline", default=None)


class Deadline:
    """A monotonic point in time (``time.monotonic()``) and the budget it was made from."""

    __slots__ = ("at", "seconds", "what")

    def __init__(self, seconds: float, what: str = "") -> None:
        self.seconds = max(0.0, float(seconds))
        self.at = time.monotonic() + self.seconds
        self.what = what

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:g} s, {self.remaining():.3f} s left)"


def current_deadline() -> Deadline | None:
    return _current.get()


def earliest(*deadlines: Deadline | None) -> Deadline | None:
    ds = [d for d in deadlines if d is not None]
    return min(ds, key=lambda d: d.at) if ds else None


@contextmanager
def deadline_scope(deadline: Deadline | float | None) -> Iterator[Deadline | None]:
    """Everything the current task awaits in this block gives up at ``deadline`` (seconds
    from now, or a :class:`Deadline`), or at an enclosing deadline if that one is earlier.

    Do not ``yield`` from an async generator inside the block (the scope would leak to the
    consumer); set it around each await instead."""
    if deadline is not None and not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    d = earliest(deadline, _current.get())
    token = _current.set(d)
    try:
        yield d
    finally:
        _current.reset(token)


def describe(seconds: float) -> str:
    """``0.25 s``, ``3 s``, ``999,999 s (about 12 days)``."""
    if math.isinf(seconds):
        return "forever"
    if seconds >= 86400 * 2:
        return f"{seconds:,.0f} s (about {seconds / 86400:,.0f} days)"
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    return f"{seconds:.3g} s"


# ----------------------------------------------------------------------------- content decoding
PIECE = 256 * 1024


class _Inflate:
    """One zlib stream (gzip members back to back, or zlib/raw deflate), output in pieces."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._head = b""  # "deflate": the first two bytes tell zlib from raw deflate
        self._d: Any = zlib.decompressobj(47) if kind == "gzip" else None  # 47: gzip or zlib header

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            self._head += data
            if len(self._head) < 2:
                return
            b0, b1 = self._head[0], self._head[1]
            is_zlib = (b0 & 0x0F) == 8 and ((b0 << 8) | b1) % 31 == 0
            self._d = zlib.decompressobj(15 if is_zlib else -15)
            data, self._head = self._head, b""
        while data:
            out = self._d.decompress(data, PIECE)
            if out:
                yield out
            if self._d.unconsumed_tail:
                data = self._d.unconsumed_tail
                continue
            if self._d.eof:
                data = self._d.unused_data
                if data and self.kind == "gzip" and data.strip(b"\0"):
                    self._d = zlib.decompressobj(47)  # another gzip member follows
                    continue
            return

    def flush(self) -> Iterator[bytes]:
        if self._d is None:
            if self._head:
                raise zlib.error("the compressed data ended early")
            return
        out = self._d.flush()
        for i in range(0, len(out), PIECE):
            yield out[i:i + PIECE]
        if not self._d.eof:
            raise zlib.error("the compressed data ended early")


class ContentDecoder:
    """Decode a body's ``Content-Encoding`` as it arrives, counting decoded bytes.

    ``limit``: raise :class:`ResponseTooLarge` once more than this many decoded bytes came out
    (``None``: no limit). ``what`` names the request in error messages."""

    SUPPORTED = ("gzip", "x-gzip", "deflate", "identity")

    def __init__(self, content_encoding: str | None, *, limit: int | None, what: str = "the response",
                 status_code: int | None = None) -> None:
        self.limit = limit
        self.what = what
        self.status_code = status_code
        self.total = 0
        names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
        self._stages: list[_Inflate] = []
        for name in reversed(names):  # the last encoding applied is undone first
            if name in ("gzip", "x-gzip"):
                self._stages.append(_Inflate("gzip"))
            elif name == "deflate":
                self._stages.append(_Inflate("deflate"))
            elif name == "identity":
                continue
            else:
                raise E.ResponseDecodeError(
                    f"{what} failed: the server sent a body encoded as {E.bounded(name, 40)!r}, which this "
                    "client does not decode (it asks for gzip or deflate).", status_code=status_code)

    def _count(self, piece: bytes) -> bytes:
        self.total += len(piece)
        if self.limit is not None and self.total > self.limit:
            raise E.ResponseTooLarge(
                f"{self.what} failed: the response is larger than {_mb(self.limit)} (decompressed); "
                "reading stopped there.", status_code=self.status_code)
        return piece

    def _run(self, data: bytes, i: int) -> Iterator[bytes]:
        if i == len(self._stages):
            if data:
                yield self._count(data)
            return
        try:
            for out in self._stages[i].feed(data):
                yield from self._run(out, i + 1)
        except zlib.error as exc:
            raise self._corrupt(exc) from None

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of ``data`` (each at most 256 KiB when the body is compressed)."""
        yield from self._run(data, 0)

    def flush(self) -> Iterator[bytes]:
        """What is left at the end of the body; raises if the compressed data was cut."""
        for i, stage in enumerate(self._stages):
            try:
                for out in stage.flush():
                    yield from self._run(out, i + 1)
            except zlib.error as exc:
                raise self._corrupt(exc) from None

    def _corrupt(self, exc: Exception) -> E.ResponseDecodeError:
        return E.ResponseDecodeError(f"{self.what} failed: the compressed response is corrupt ({exc}).",
                                     status_code=self.status_code)


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n:,} bytes"


# ----------------------------------------------------------------------------- pagination
class PageGuard:
    """Stops a cursor list that never ends. Call :meth:`check` with each page's item count,
    ``has_more`` and ``next_cursor``; it raises :class:`PaginationError` when

    * a cursor comes back that was already followed (``A, B, A`` or ``A, A``), or
    * ``max_empty`` pages in a row are empty while saying there is more.

    For panes that page by hand (one page per scroll) as well as :meth:`ConvAIClient._paginate`.
    """

    def __init__(self, what: str = "the list", *, max_empty: int = 3) -> None:
        self.what = what
        self.max_empty = max_empty
        self.pages = 0
        self.items = 0
        self._empty_in_row = 0
        self._seen: set[bytes] = set()

    def check(self, count: int, has_more: bool, next_cursor: str | None) -> None:
        self.pages += 1
        self.items += count
        if not has_more or not next_cursor:
            return
        self._empty_in_row = self._empty_in_row + 1 if count == 0 else 0
        if self._empty_in_row >= self.max_empty:
            raise E.PaginationError(
                f"{self.what} failed: the server sent {self._empty_in_row} empty pages in a row that all said "
                f"there was more (after {self.items} items in {self.pages} pages); stopped.")
        key = hashlib.blake2b(next_cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key in self._seen:
            raise E.PaginationError(
                f"{self.what} failed: the server sent a cursor it had sent before (after {self.items} items "
                f"in {self.pages} pages): the list would never end; stopped.")
        self._seen.add(key)
