"""Exponential back-off with jitter, and the polling schedule (1 s growing to 10 s by default)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from services.generator.settings import GeneratorSettings


def retry_delay(
    attempt: int, settings: GeneratorSettings, retry_after_s: float | None = None
) -> float:
    """Seconds before retry number ``attempt`` (0-based); a provider's Retry-After wins."""
    if retry_after_s is not None:
        return min(retry_after_s, settings.retry_max_s)
    ceiling = min(settings.retry_max_s, settings.retry_base_s * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)  # jitter spreads retries of many items apart


def poll_intervals(settings: GeneratorSettings) -> Iterator[float]:
    """Polling back-off: starts at POLL_INITIAL_S, grows by POLL_FACTOR up to POLL_MAX_S."""
    interval = settings.poll_initial_s
    while True:
        yield interval
        interval = min(settings.poll_max_s, interval * settings.poll_factor)
