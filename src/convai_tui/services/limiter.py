"""A bounded pool for API requests that learns the server's concurrency limit.

:class:`AdaptiveLimit` runs at most ``limit`` requests at once. When the server answers 429 (the
real API's ``too_many_concurrent_requests``), the request gives its slot back, the limit drops to
the number of requests that were in flight without that one, and the request is sent again after
the server's ``Retry-After`` (or a back-off when it gave none), through the pool again. So after the
first refusals the pool stays within what the server allows, and a waiting request never holds a
slot. After :data:`PROBE_AFTER` successes in a row the limit is raised by one again (up to the
configured ceiling), in case the refusals came from someone else's burst on the same account.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")

PROBE_AFTER = 100  # successes in a row before the limit is raised by one again
MAX_REFUSALS = 30  # 429s in a row for one request before its RateLimitError is raised
MAX_WAIT = 60.0  # a longer Retry-After is not waited for (the client's own rule)


class AdaptiveLimit:
    def __init__(self, limit: int, *, max_refusals: int = MAX_REFUSALS, max_wait: float = MAX_WAIT,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if limit < 1:
            raise ValueError("the limit must be at least 1")
        self.ceiling = limit
        self.limit = limit
        self.in_flight = 0
        self.most_in_flight = 0
        self.refused = 0  # 429s seen
        self.max_refusals = max_refusals
        self.max_wait = max_wait
        self._sleep = sleep
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._successes = 0

    async def _acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut  # the slot is handed over (in_flight counted) by _release/_wake
            except BaseException:
                if fut.done() and not fut.cancelled():
                    self._release()  # it was handed a slot as it was cancelled: pass it on
                else:
                    try:
                        self._waiters.remove(fut)
                    except ValueError:
                        pass
                raise
        self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()`` within the limit, sent again after each 429 (see the module doc)."""
        from ..api.client import ConvAIClient
        from ..api.errors import RateLimitError

        refusals = 0
        while True:
            await self._acquire()
            try:
                with ConvAIClient.rate_limits_to_caller():
                    result = await call()
            except RateLimitError as exc:
                others = self.in_flight - 1
                self._release()
                self.refused += 1
                refusals += 1
                self._successes = 0
                self.limit = max(1, min(self.limit, others))
                wait = exc.retry_after
                if refusals > self.max_refusals or (wait is not None and wait > self.max_wait):
                    raise
                if wait is None:
                    wait = min(10.0, 0.25 * 2 ** min(refusals, 6)) * (0.5 + random.random() / 2)
                await self._sleep(wait)
                continue
            except BaseException:
                self._release()
                raise
            self._successes += 1
            if self._successes >= PROBE_AFTER and self.limit < self.ceiling:
                self.limit += 1
                self._successes = 0
            self._release()
            return result
