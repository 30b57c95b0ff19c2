"""The time one planner RPC may spend on model calls: the caller's gRPC deadline, less a margin.

Every model request (its client-side retries and back-off included) runs inside the
budget, each request's own timeout is cut to what is left, and re-asks are started
only when the slowest call so far would still fit. So a slow model ends the RPC with
our DEADLINE_EXCEEDED (naming what to change) or with the best plan so far, not with
the transport's bare "Deadline Exceeded" after the caller gave up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from reelforge.runtime.errors import DeadlineExceeded
from services.planner.settings import PlannerSettings

# Kept back from the caller's deadline so our own answer still reaches it (through the gateway).
_ANSWER_MARGIN_S = 1.0
_ANSWER_MARGIN_SHARE = 0.1  # ... or a tenth of a short deadline
MIN_CALL_S = 0.5  # a model request started with less than this left cannot finish
_REASK_HEADROOM = 1.5  # a re-ask is longer than the first ask: want 1.5x the slowest call so far


class Budget:
    """Wall-clock budget of one RPC; ``source`` says where the limit came from, for error texts."""

    def __init__(
        self, total_s: float, source: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total_s = max(total_s, 0.0)
        self.source = source
        self._clock = clock
        self._start = clock()
        self.calls = 0
        self.slowest_s = 0.0

    @classmethod
    def for_call(cls, time_remaining_s: float | None, settings: PlannerSettings) -> Budget:
        """From ``context.time_remaining()``: None (no deadline) → PLANNER_CALL_BUDGET_S."""
        if time_remaining_s is None:
            limit = settings.planner_call_budget_s
            return cls(limit, f"PLANNER_CALL_BUDGET_S={limit:g} s")
        margin = min(_ANSWER_MARGIN_S, time_remaining_s * _ANSWER_MARGIN_SHARE)
        return cls(time_remaining_s - margin, f"the caller's deadline ({time_remaining_s:.1f} s)")

    def remaining_s(self) -> float:
        return self.total_s - (self._clock() - self._start)

    def request_timeout_s(self, per_request_s: float) -> float:
        """The timeout of the next model request; DeadlineExceeded when too little is left."""
        left = self.remaining_s()
        if left < MIN_CALL_S:
            raise self.exceeded()
        return min(per_request_s, left)

    def affords_another_call(self) -> bool:
        return self.remaining_s() >= max(MIN_CALL_S, self.slowest_s * _REASK_HEADROOM)

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """One model request, cut off when the budget ends (the client's own retries included)."""
        started = self._clock()
        self.calls += 1
        try:
            async with asyncio.timeout(max(self.remaining_s(), 0.0)):
                yield
        except TimeoutError:
            raise self.exceeded() from None
        finally:
            self.slowest_s = max(self.slowest_s, self._clock() - started)

    def exceeded(self) -> DeadlineExceeded:
        elapsed = self._clock() - self._start
        return DeadlineExceeded(
            f"the model did not finish within {self.source}: {self.calls} model call(s) "
            f"in {elapsed:.1f} s; allow more time (the gateway's UPSTREAM_LLM_TIMEOUT_S), lower "
            "PLANNER_MAX_TOKENS_* or PLANNER_MAX_REASKS, or use a faster model",
            reason="PLANNER_DEADLINE",
        )
