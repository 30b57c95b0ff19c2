"""Forgets old webhook delivery ids, so the dedupe table does not grow forever.

A delivery older than the signature tolerance is refused by its timestamp anyway,
so its id is only needed for that long; the retention keeps a generous margin.
"""

from __future__ import annotations

import asyncio
import logging
import time

from reelforge.runtime.tasks import cancel_and_wait, periodic
from services.generator.webhook_deliveries import WebhookDeliveries

_LOGGER = logging.getLogger(__name__)


class WebhookPruner:
    """Every ``interval_s``, deletes delivery ids received more than ``retention_s`` ago."""

    def __init__(
        self, deliveries: WebhookDeliveries, *, retention_s: float, interval_s: float
    ) -> None:
        self._deliveries = deliveries
        self._retention_s = retention_s
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A failed prune only delays the next one; it must not stop the service.
        loop = periodic(
            self._interval_s, self.prune_once, what="pruning webhook delivery ids", logger=_LOGGER
        )
        self._task = asyncio.create_task(loop, name="webhook-pruner")

    async def prune_once(self, now: float | None = None) -> None:
        cutoff = (time.time() if now is None else now) - self._retention_s
        await self._deliveries.forget_before(cutoff)

    async def aclose(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
