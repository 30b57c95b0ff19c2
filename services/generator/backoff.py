"""Exponential back-off with jitter, retry budgets, and the polling schedule (1 s growing to 10 s by default)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from services.generator.providers.base import ProviderError
from services.generator.settings import GeneratorSettings


def retry_delay(
    attempt: int, settings: GeneratorSettings, retry_after_s: float | None = None
) -> float:
    """Seconds before retry number ``attempt`` (0-based); a provider's hint wins.

    A hint (Retry-After, or a 429 body's "resets in ~30s") is honoured up to the retry
    budget, plus a little jitter so items throttled together do not return together.
    """
    if retry_after_s is not None:
        hint = min(retry_after_s, settings.retry_budget_s)
        return hint + random.uniform(0, min(1.0, hint * 0.1))
    ceiling = min(settings.retry_max_s, settings.retry_base_s * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)  # jitter spreads retries of many items apart


class RetryBudget:
    """When to try one provider call again: by count, by time, and never past a deadline.

    Rate limits (429) are budgeted by time only: how many tries fit depends on how long
    the provider asks us to wait, not on a count.
    """

    def __init__(self, settings: GeneratorSettings, deadline_at: float = 0.0) -> None:
        self._settings = settings
        self._deadline_at = deadline_at  # unix seconds; 0 → none
        self._started = time.monotonic()
        self.attempts = 0

    def next_delay(self, error: ProviderError) -> float | None:
        """Seconds to wait before the next try, or None to give up with ``error``."""
        self.attempts += 1
        if not error.retryable:
            return None
        if not error.rate_limited and self.attempts >= self._settings.retry_max_attempts:
            return None
        delay = retry_delay(self.attempts - 1, self._settings, error.retry_after_s)
        elapsed = time.monotonic() - self._started
        if elapsed + delay > self._settings.retry_budget_s:
            return None
        if self._deadline_at and time.time() + delay > self._deadline_at:
            return None
        return delay


def poll_intervals(settings: GeneratorSettings) -> Iterator[float]:
    """Polling back-off: starts at POLL_INITIAL_S, grows by POLL_FACTOR up to POLL_MAX_S."""
    interval = settings.poll_initial_s
    while True:
        yield interval
        interval = min(settings.poll_max_s, interval * settings.poll_factor)
