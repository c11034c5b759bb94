"""A real, hostile HTTP/1.1 server on a loopback port, for tests of the client's defences.

Each test gives it a handler ``async def handler(req, w)``: ``req`` is the parsed request,
``w`` the connection's ``asyncio.StreamWriter``; the handler writes whatever bytes it likes
(see :func:`reply`, :func:`head`) or nothing at all, forever. The server runs its own event
loop in a thread, so a client under test can run anywhere (the test's loop, a subprocess).
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


def head(status: int = 200, headers: dict[str, str] | None = None, *, length: int | None = None) -> bytes:
    """A status line and headers; no Content-Length unless given (the body then runs to the close)."""
    lines = [f"HTTP/1.1 {status} X"]
    hs = {"connection": "close", **(headers or {})}
    if length is not None:
        hs["content-length"] = str(length)
    lines += [f"{k}: {v}" for k, v in hs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def reply(w: asyncio.StreamWriter, status: int = 200, body: Any = b"", headers: dict[str, str] | None = None) -> None:
    """A complete response (``body``: bytes, or a value sent as JSON), then the connection closes."""
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        headers = {"content-type": "application/json", **(headers or {})}
    w.write(head(status, headers, length=len(body)) + bytes(body))
    await w.drain()


@dataclass
class HostileServer:
    handler: Handler
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def __enter__(self) -> "HostileServer":
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("hostile server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        def stop() -> None:
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            self._loop.call_later(0.05, self._loop.stop)

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._conn, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _conn(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            raw = await r.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await r.readexactly(int(headers.get("content-length", "0") or 0))
            req = Request(method, target, headers, body)
            self.requests.append(req)
            await self.handler(req, w)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            try:
                w.close()
            except Exception:
                pass


def gzip_bomb(decompressed: int = 2**30, *, chunk: int = 2**20, fill: bytes = b"\0") -> bytes:
    """A valid single-member gzip body of ``decompressed`` bytes of ``fill``, about 1,000 times
    smaller: one compressed chunk (ending on a full flush, so it stands alone) repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = fill * chunk
    seg = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    n = decompressed // chunk
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + seg * n + b"\x03\x00"
            + struct.pack("<II", crc & 0xFFFFFFFF, (n * chunk) & 0xFFFFFFFF))


async def forever() -> None:
    await asyncio.Event().wait()
