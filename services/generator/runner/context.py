"""What the steps of one item's run share: the record, fenced writes, the cancel request,
and the provider calls every step makes (with retries)."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from reelforge.runtime.leases import LeaseLost
from services.generator.backoff import RetryBudget
from services.generator.item_updates import ItemUpdate
from services.generator.providers.base import ProviderError, RemoteProvider
from services.generator.records import ItemRecord
from services.generator.runner.deps import RunnerDeps

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


class Phase(enum.StrEnum):
    """Where a run is; it decides how a cancel request reaches the run."""

    QUEUED = "queued"  # before a create (cache lookup, waiting for a slot)
    SUBMITTING = "submitting"  # a create in flight, or a lost one looked for
    WAITING = "waiting"  # the prediction runs at the provider
    DOWNLOADING = "downloading"  # outputs into the store
    LOCAL = "local"  # the offline renderer at work

    @property
    def interruptible(self) -> bool:
        """Whether stopping the task here loses nothing: no create is in flight whose id would
        be lost, and no prediction runs that a cancel must end at the provider first."""
        return self in (Phase.QUEUED, Phase.DOWNLOADING, Phase.LOCAL)


class ItemContext:
    def __init__(self, item: ItemRecord, deps: RunnerDeps) -> None:
        self.item = item
        self.deps = deps
        self.settings = deps.settings
        self.phase = Phase.QUEUED
        self.cancel_requested = False
        self.interrupted = asyncio.Event()  # set by a cancel request: ends any pause at once

    def request_cancel(self) -> None:
        self.cancel_requested = True
        self.interrupted.set()
        if self.item.prediction_id:
            self.deps.watches.wake(self.item.prediction_id)

    # ---- state writes ---------------------------------------------------------------------

    async def update(self, change: ItemUpdate) -> bool:
        """Writes only while this process holds the item's lease (LeaseLost otherwise)."""
        repo, owner = self.deps.repo, self.deps.fence.owner
        changed = await repo.update_item(self.item, change, fence=owner)
        if changed:
            self.deps.notify(self.item.job_id)
        elif await repo.owner_of(self.item.id) != owner:
            raise LeaseLost(self.item.id)
        return changed

    async def fail(self, error: str) -> None:
        _LOGGER.warning(
            "item %s failed: %s", self.item.id, error, extra={"job_id": self.item.job_id}
        )
        await self.update(ItemUpdate.failed(error))

    def deadline_text(self, what: str) -> str:
        return f"{what} within {self.settings.item_deadline_s:g} s"

    # ---- provider calls -------------------------------------------------------------------

    @property
    def remote(self) -> RemoteProvider:
        if self.deps.providers.remote is None:
            raise ProviderError("the replicate provider is not configured", retryable=False)
        return self.deps.providers.remote

    def webhook_url(self) -> str:
        if not self.settings.webhooks_enabled:
            return ""
        # The item id in the URL tags the prediction, so a lost create can be matched later.
        return f"{self.settings.public_url}/api/webhooks/replicate?item={self.item.id}"

    async def give_up(self, prediction_id: str, error: str) -> None:
        """A refusal (token revoked, prediction gone): say so, and stop paying if we can."""
        canceled = await self.cancel_remote(prediction_id)
        outcome = "canceled" if canceled else "could not be canceled and may still be running"
        await self.fail(f"{error}; prediction {prediction_id} {outcome}")

    async def cancel_remote(self, prediction_id: str) -> bool:
        try:
            # Cancels often come at the deadline: their retries are not bounded by it.
            await self.with_retries(lambda: self.remote.cancel(prediction_id), deadline=False)
        except ProviderError as error:
            _LOGGER.warning("could not cancel prediction %s: %s", prediction_id, error)
            return False
        return True

    async def with_retries(self, call: Callable[[], Awaitable[_T]], *, deadline: bool = True) -> _T:
        """Idempotent calls (get, cancel, list) retried on network errors, 429 and 5xx."""
        budget = RetryBudget(self.settings, self.item.deadline_at if deadline else 0.0)
        while True:
            try:
                return await call()
            except ProviderError as error:
                delay = budget.next_delay(error)
                if delay is None:
                    raise
                await asyncio.sleep(delay)


def item_tag(webhook_url: str) -> str:
    """The item id a prediction's webhook URL names (``?item=<id>``, see ``webhook_url``), or ""."""
    values = parse_qs(urlsplit(webhook_url).query).get("item", [])
    return values[0] if values else ""
