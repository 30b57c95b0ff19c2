"""FFmpeg's ``-progress`` key=value stream turned into seconds encoded, and a throttle for watchers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable


class ProgressParser:
    """Feeds on ``-progress pipe:1`` lines; each completed block yields the seconds of video encoded.

    Video frames are counted rather than read from ``out_time``: that is the furthest stream's
    time, and the audio stream runs far ahead of the picture while x264 is still busy.
    """

    def __init__(self, fps: float) -> None:
        self._fps = fps
        self._frames = 0

    def feed(self, line: str) -> float | None:
        """Returns the encoded seconds when ``line`` ends a block (``progress=...``), else None."""
        key, _, value = line.strip().partition("=")
        if key == "frame":
            with contextlib.suppress(ValueError):  # "N/A" before the first frame
                self._frames = max(self._frames, int(value))
        elif key == "progress":
            return self._frames / self._fps
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
