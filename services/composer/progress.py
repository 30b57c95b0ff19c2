"""FFmpeg's ``-progress`` key=value stream turned into seconds encoded, and a throttle for watchers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable


class ProgressParser:
    """Feeds on ``-progress pipe:1`` lines; each completed block yields the seconds encoded so far."""

    def __init__(self) -> None:
        self._out_time_s = 0.0

    def feed(self, line: str) -> float | None:
        """Returns the encoded seconds when ``line`` ends a block (``progress=...``), else None."""
        key, _, value = line.strip().partition("=")
        if key == "out_time_us":
            # "N/A" before the first frame is written
            with contextlib.suppress(ValueError):
                self._out_time_s = max(self._out_time_s, int(value) / 1_000_000)
        elif key == "progress":
            return self._out_time_s
        return None


class Throttle:
    """Lets a call through at most once per ``interval_s``; the final one (``force``) always passes."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last = -interval_s - 1.0

    def ready(self, *, force: bool = False) -> bool:
        now = self._clock()
        if force or now - self._last >= self._interval_s:
            self._last = now
            return True
        return False


def phase_percent(done_s: float, total_s: float, low: float, high: float) -> float:
    """Maps ``done_s`` of ``total_s`` onto the phase's share [low, high] of the whole job."""
    fraction = min(1.0, max(0.0, done_s / total_s)) if total_s > 0 else 1.0
    return low + (high - low) * fraction
