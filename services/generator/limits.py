"""Concurrency limits (overall and per model) and the client-side create rate limiter."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator


class ConcurrencyLimits:
    """An item holds one overall slot and one slot of its model for its whole run."""

    def __init__(self, overall: int, per_model: int) -> None:
        self._overall = asyncio.Semaphore(overall)
        self._per_model_limit = per_model
        self._per_model: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, model: str) -> AsyncIterator[None]:
        model_slots = self._per_model.setdefault(model, asyncio.Semaphore(self._per_model_limit))
        # The model's slot first: items of a busy model must not hold overall slots while queued.
        async with model_slots, self._overall:
            yield


class RateLimiter:
    """At most ``calls`` in any ``period_s`` window (Replicate: 600 creates per minute)."""

    def __init__(self, calls: int, period_s: float = 60.0) -> None:
        self._calls = calls
        self._period_s = period_s
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._stamps and now - self._stamps[0] >= self._period_s:
                    self._stamps.popleft()
                if len(self._stamps) < self._calls:
                    self._stamps.append(now)
                    return
                # Holding the lock while sleeping keeps callers in arrival order.
                await asyncio.sleep(self._period_s - (now - self._stamps[0]))
