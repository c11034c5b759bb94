"""Fault injection: make the emulator misbehave on purpose.

Faults are queued on the running server (``POST /_emulator/faults``, or ``--faults`` on the
command line, or per request with the ``x-emulator-fault`` header) and matched against
each request by method and path prefix. A fault fires ``count`` times (-1: forever).

Kinds:

==============  ==============================================================
``status``      answer ``status`` (429 adds ``Retry-After: retry_after``)
``delay``       wait ``delay_ms`` before answering normally
``hang``        accept the request and never answer
``reset``       send the status line, then drop the connection mid-body
``cut``         a stream stops after ``after_events`` lines, connection dropped
``malformed``   the body (or, for a stream, line ``after_events``) is invalid JSON
``random``      each firing picks one of the above but ``hang`` (a soak test's diet)
==============  ==============================================================

Text form (``--faults`` and the header), comma-separated ``key=value``:
``kind=status,status=429,retry_after=1,path=/v1/convai/agents,count=2``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("status", "delay", "hang", "reset", "cut", "malformed", "random")
# what ``kind=random`` draws from (never "hang": that one is tested on its own)
RANDOM_KINDS = (("status", 429), ("status", 500), ("status", 502), ("status", 503), ("reset", 0),
                ("malformed", 0), ("delay", 0), ("cut", 0))


@dataclass
class Fault:
    kind: str = "status"
    status: int = 503
    path: str = "/v1/"
    method: str | None = None
    count: int = 1
    retry_after: float | None = None
    delay_ms: int = 0
    after_events: int = 2
    probability: float = 1.0

    @classmethod
    def parse(cls, text: str) -> "Fault":
        kw: dict[str, Any] = {}
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            if "=" not in part:
                raise ValueError(f"fault option {part!r} is not key=value")
            k, v = (s.strip() for s in part.split("=", 1))
            if k not in cls.__dataclass_fields__:
                raise ValueError(f"unknown fault option {k!r}; known: {', '.join(cls.__dataclass_fields__)}")
            kw[k] = v
        return cls.from_dict(kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Fault":
        f = cls()
        for k, v in d.items():
            if k not in cls.__dataclass_fields__:
                raise ValueError(f"unknown fault option {k!r}")
            cur = getattr(f, k)
            if k in ("status", "count", "delay_ms", "after_events"):
                v = int(v)
            elif k in ("retry_after", "probability"):
                v = None if v in (None, "", "none") else float(v)
            elif k == "method":
                v = str(v).upper() if v else None
            else:
                v = str(v) if cur is not None or v is not None else v
            setattr(f, k, v)
        if f.kind not in KINDS:
            raise ValueError(f"unknown fault kind {f.kind!r}; known: {', '.join(KINDS)}")
        return f

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and path.startswith(self.path)


class FaultBook:
    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rnd = random.Random(seed)
        self.fired = 0
        self.seen = 0  # requests that were checked for faults

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            self.seen += 1
            for f in self._faults:
                if f.count != 0 and f.matches(method, path):
                    if f.probability < 1.0 and self._rnd.random() >= f.probability:
                        continue
                    if f.count > 0:
                        f.count -= 1
                    self.fired += 1
                    if f.kind == "random":
                        kind, status = self._rnd.choice(RANDOM_KINDS)
                        return Fault(kind=kind, status=status or 503, path=f.path, count=1,
                                     retry_after=0.05 if status == 429 else None,
                                     delay_ms=self._rnd.randint(50, 400), after_events=self._rnd.randint(1, 5))
                    return f
            self._faults = [f for f in self._faults if f.count != 0]
        return None
