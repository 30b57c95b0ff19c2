"""Writes a render's progress to the database and to watchers: phases at once, percent throttled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from services.composer.convert import state_name
from services.composer.progress import Throttle
from services.composer.renderer import State

Write = Callable[..., Coroutine[Any, Any, Any]]


class Tracker:
    """The Reporter of one composition. Percent never goes down; writes never overtake each other."""

    def __init__(self, write: Write, interval_s: float) -> None:
        self._write = write
        self._throttle = Throttle(interval_s)
        self._percent = 0.0
        self._pending: asyncio.Task[Any] | None = None

    async def phase(self, state: State, percent: float, message: str) -> None:
        await self.flush()
        self._percent = max(self._percent, percent)
        await self._write(state=state_name(state), percent=self._percent, message=message)

    def progress(self, percent: float, message: str) -> None:
        # A write still in flight means the last update is less than one write old: skip this one.
        if percent <= self._percent or (self._pending and not self._pending.done()):
            return
        if not self._throttle.ready():
            return
        self._percent = percent
        self._pending = asyncio.get_running_loop().create_task(
            self._write(percent=percent, message=message)
        )

    async def flush(self) -> None:
        """Waits for the progress write in flight, so a later write lands after it."""
        if self._pending is not None:
            await asyncio.wait({self._pending})
            self._pending = None
