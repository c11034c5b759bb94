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

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
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
        """A validated fault: every option in range, or ValueError saying which and why."""
        f = cls()
        for k, v in d.items():
            if k not in cls.__dataclass_fields__:
                raise ValueError(f"unknown fault option {k!r}; known: {', '.join(cls.__dataclass_fields__)}")
            if k in ("status", "count", "delay_ms", "after_events"):
                v = _number(k, v, int)
            elif k in ("retry_after", "probability"):
                v = None if v in (None, "", "none") and k == "retry_after" else _number(k, v, float)
            elif k == "method":
                v = str(v).upper() if v else None
            else:
                if not isinstance(v, str):
                    raise ValueError(f"fault option {k} must be a string, got {v!r}")
            setattr(f, k, v)
        if f.kind not in KINDS:
            raise ValueError(f"unknown fault kind {f.kind!r}; known: {', '.join(KINDS)}")
        if not 100 <= f.status <= 599:
            raise ValueError(f"fault status must be an HTTP status between 100 and 599, got {f.status}")
        if f.count < -1:
            raise ValueError(f"fault count must be -1 (forever) or more, got {f.count}")
        if not 0 <= f.delay_ms <= 600_000:
            raise ValueError(f"fault delay_ms must be between 0 and 600000, got {f.delay_ms}")
        if f.after_events < 0:
            raise ValueError(f"fault after_events must not be negative, got {f.after_events}")
        if not 0.0 <= f.probability <= 1.0:
            raise ValueError(f"fault probability must be between 0 and 1, got {f.probability:g}")
        if f.retry_after is not None and not 0 <= f.retry_after <= 3600:
            raise ValueError(f"fault retry_after must be between 0 and 3600 seconds, got {f.retry_after:g}")
        if f.method is not None and f.method not in METHODS:
            raise ValueError(f"fault method must be one of {', '.join(METHODS)}, got {f.method!r}")
        if not f.path.startswith("/"):
            raise ValueError(f"fault path must start with /, got {f.path!r}")
        return f

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and path.startswith(self.path)


def _number(key: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"fault option {key} must be a number, got {value!r}")
    try:
        n = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"fault option {key} must be {'an integer' if kind is int else 'a number'}, "
                         f"got {value!r}") from None
    if kind is int and isinstance(value, float) and value != n:
        raise ValueError(f"fault option {key} must be an integer, got {value!r}")
    if kind is float and n != n:  # NaN
        raise ValueError(f"fault option {key} must be a number, got {value!r}")
    return n


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
