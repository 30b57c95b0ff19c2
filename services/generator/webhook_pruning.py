"""Forgets old webhook delivery ids, so the dedupe table does not grow forever.

A delivery older than the signature tolerance is refused by its timestamp anyway,
so its id is only needed for that long; the retention keeps a generous margin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from services.generator.repository import Repository

_LOGGER = logging.getLogger(__name__)


class WebhookPruner:
    """Every ``interval_s``, deletes delivery ids received more than ``retention_s`` ago."""

    def __init__(self, repo: Repository, *, retention_s: float, interval_s: float) -> None:
        self._repo = repo
        self._retention_s = retention_s
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-pruner")

    async def prune_once(self, now: float | None = None) -> None:
        cutoff = (time.time() if now is None else now) - self._retention_s
        await self._repo.forget_webhooks_before(cutoff)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.prune_once()
            except Exception:
                # A failed prune only delays the next one; it must not stop the service.
                _LOGGER.exception("pruning webhook delivery ids failed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
