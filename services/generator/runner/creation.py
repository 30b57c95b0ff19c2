"""Obtaining an item's prediction: resume the stored one, or create it once — and when a create's
answer is lost, find the prediction it started (the list, or a webhook tagged with the item)
before anything is sent again. The id is stored before anything waits on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from reelforge.runtime.leases import LeaseLost
from reelforge.v1 import generator_pb2 as pb
from services.generator.backoff import RetryBudget, poll_intervals
from services.generator.catalog import base_model
from services.generator.item_updates import ItemUpdate
from services.generator.providers.base import (
    CreateRequest,
    LostCreate,
    Prediction,
    PredictionStatus,
    ProviderError,
)
from services.generator.providers.replicate_inputs import same_input
from services.generator.runner.context import ItemContext

_LOGGER = logging.getLogger(__name__)
# Reconciliation looks a little before the create was sent: clocks differ between us and the provider.
_CLOCK_SKEW_S = 120.0
# Outcomes of one search of the prediction list besides finding the prediction.
_ABSENT = object()  # every page read, not there
_UNREAD = object()  # the list could not be read: proves nothing


class _OwnedElsewhere(Exception):
    """The prediction id is already held by another item (storing it would break uniqueness)."""


class Creation:
    """The submitting phase of one run; a tagged webhook can hand it its prediction (``offer``)."""

    def __init__(self, context: ItemContext) -> None:
        self._context = context
        self._item = context.item
        self._settings = context.settings
        self._offered: asyncio.Future[Prediction] | None = None  # see offer()
        self._adopted: Prediction | None = None  # offered during a reconciliation pause

    async def obtain(self) -> Prediction | None:
        """The item's prediction with its id stored; None when the item ended (failed, canceled)."""
        try:
            if self._item.prediction_id:
                # Resumed after a restart: look the prediction up, never create it again.
                return await self._resume(self._item.prediction_id)
            return await self._submit()
        except ProviderError as error:
            await self._context.fail(str(error))
            return None

    def offer(self, prediction: Prediction) -> bool:
        """Offers a prediction whose webhook URL names this item; True when it is taken.

        The URL's tag is not covered by the webhook signature, so the signed body must also
        show this item's model and input: a replayed delivery under another item's tag can
        never hand an item someone else's output.
        """
        if self._item.prediction_id:
            return False
        if base_model(prediction.model) != base_model(self._item.model):
            return False
        if not same_input(self._item.input, prediction.input):
            return False
        future = self._adoption()
        if not future.done():
            future.set_result(prediction)
        return True

    def _request(self, cancel_after_s: float | None = None) -> CreateRequest:
        item = self._item
        return CreateRequest(item.model, item.input, self._context.webhook_url(), cancel_after_s)

    @property
    def _stopped(self) -> bool:
        return self._context.cancel_requested

    async def _resume(self, prediction_id: str) -> Prediction | None:
        """The stored prediction's state; during an outage, wait for it as polling would.

        A paid prediction keeps running while Replicate's API is unreachable: failing the
        item would throw its output away. The wait polls under the usual back-off until
        the item's deadline. A refusal (token revoked, prediction gone) fails the item.
        """
        context = self._context
        try:
            return await context.with_retries(lambda: context.remote.get(prediction_id))
        except ProviderError as error:
            if not error.retryable:
                await context.give_up(prediction_id, str(error))
                return None
            _LOGGER.warning(
                "item %s: cannot look %s up yet (%s)", self._item.id, prediction_id, error
            )
            return Prediction(
                id=prediction_id,
                model=self._item.model,
                status=PredictionStatus.RUNNING,
                provider_status="unknown",
            )

    async def _submit(self) -> Prediction | None:
        """Creates the prediction (once), or finds the one a lost create answer started."""
        item, context = self._item, self._context
        submissions = context.deps.throttles.submissions
        if item.state == pb.ITEM_STATE_SUBMITTING:
            # Died between "create sent" and "id stored": find it before any new create.
            async with submissions.hold(item.cache_key):
                found = await self._reconcile()
            if found is not None or self._stopped:
                return found
        budget: RetryBudget | None = None
        while True:
            now = time.time()
            if item.deadline_at and now >= item.deadline_at:
                await context.fail(context.deadline_text("no prediction could be started"))
                return None
            # The attempt is durable before the create is sent, so a crash leaves a trace to reconcile.
            attempt = ItemUpdate.submitting(
                attempts=item.attempts + 1,
                started_at=now,
                deadline_at=item.deadline_at or now + self._settings.item_deadline_s,
            )
            if not await context.update(attempt):
                return None  # canceled before anything was sent
            # Retries never outlast the deadline (known from the first attempt on).
            budget = budget or RetryBudget(self._settings, item.deadline_at)
            await context.deps.throttles.creates.acquire()
            # A create is paid: send it only while the lease surely outlives the call's start,
            # so no other replica can be reconciling (and re-creating) this item meanwhile.
            if not context.deps.fence.safe_for(self._settings.lease_ttl_s / 3):
                raise LeaseLost(item.id)
            async with submissions.hold(item.cache_key):
                try:
                    return await self._create_once()
                except ProviderError as error:
                    failure = error
            delay = budget.next_delay(failure)
            if delay is None:
                await context.fail(str(failure))
                return None
            _LOGGER.info(
                "create of item %s failed (%s); retrying in %.2f s", item.id, failure, delay
            )
            if (adopted := await self._pause(delay)) is not None:
                return await self._store_or_find(adopted)
            if self._stopped:
                return None

    async def _create_once(self) -> Prediction | None:
        """One create, bounded by the item's deadline; a lost answer is looked for, not resent.

        Raises ProviderError when trying again may help (nothing was created, or it could
        not be found).
        """
        remaining = self._item.deadline_at - time.time()
        try:
            prediction = await self._create_or_adopt(remaining)
        except ProviderError as error:
            if not error.outcome_unknown:
                raise
            _LOGGER.info("item %s: create answer lost (%s); looking for it", self._item.id, error)
            found = await self._reconcile()
            if found is not None or self._stopped:
                return found
            raise
        return await self._store_or_find(prediction)

    async def _create_or_adopt(self, remaining_s: float) -> Prediction:
        """The create's answer, or the prediction a webhook tagged with this item brings first."""
        # Replicate aborts it (unpaid) if it has not started by our deadline.
        request = self._request(cancel_after_s=remaining_s)
        create = asyncio.ensure_future(self._context.remote.create(request))
        adopted = self._adoption()
        try:
            async with asyncio.timeout(max(remaining_s, 0.001)):
                await asyncio.wait({create, adopted}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            raise ProviderError(
                self._context.deadline_text("Replicate did not answer the create"),
                retryable=False,
                outcome_unknown=True,
            ) from None
        finally:
            if not create.done():
                create.cancel()
        if create.done() and not create.cancelled() and create.exception() is None:
            return create.result()
        if (taken := self._take_adopted()) is not None:
            return taken
        return create.result()  # raises the create's ProviderError

    async def _reconcile(self) -> Prediction | None:
        """Looks for a prediction this item created although the answer never arrived.

        Replicate's list shows a new prediction only after a while, so it is read again
        until LIST_CONSISTENCY_S after the create was sent (or the deadline); a webhook
        tagged with this item's id ends the search at once. Only a whole search that began
        after that window and read every page proves nothing was created: a search that
        could not read the list proves nothing, so it goes on (until the deadline) rather
        than letting the item create, and pay, a second time.
        """
        item = self._item
        since = item.submit_started_at - _CLOCK_SKEW_S
        look_until = item.submit_started_at + self._settings.list_consistency_s
        intervals = poll_intervals(self._settings)
        taken: set[str] = set()  # found, but held by another item
        while True:
            started = time.time()
            adopted, self._adopted = self._adopted, None
            outcome = adopted if adopted is not None else await self._search(since, taken)
            if isinstance(outcome, Prediction):
                _LOGGER.info(
                    "item %s: found prediction %s created by a lost answer", item.id, outcome.id
                )
                try:
                    return await self._store_prediction(outcome)
                except _OwnedElsewhere:
                    taken.add(outcome.id)  # another item took it meanwhile
                    continue
            if (outcome is _ABSENT and started >= look_until) or self._stopped:
                return None
            if item.deadline_at and time.time() >= item.deadline_at:
                raise ProviderError(
                    self._context.deadline_text("could not find out whether the lost create ran"),
                    retryable=False,
                )
            pause = next(intervals)
            if started < look_until:
                pause = min(pause, max(look_until - time.time(), 0.0))
            self._adopted = await self._pause(pause)

    async def _search(self, since: float, taken: set[str]) -> Prediction | object:
        """One search of the list: the prediction, _ABSENT, or _UNREAD when it could not be read."""
        try:
            return await self._find_created(since, taken) or _ABSENT
        except ProviderError as error:
            if not error.retryable:
                raise
            _LOGGER.warning(
                "item %s: could not read Replicate's list (%s); looking again", self._item.id, error
            )
            return _UNREAD

    async def _find_created(self, since: float, taken: set[str]) -> Prediction | None:
        context = self._context
        claimed = await context.deps.repo.prediction_ids_since(since - 3600)
        lost = LostCreate(self._request(), since=since, exclude=taken | claimed)
        return await context.with_retries(lambda: context.remote.find_created(lost))

    async def _store_or_find(self, prediction: Prediction) -> Prediction | None:
        """Stores our prediction's id; if another item holds it, ours is the one it lost: find it."""
        try:
            return await self._store_prediction(prediction)
        except _OwnedElsewhere:
            _LOGGER.warning(
                "item %s: prediction %s is held by another item; looking for the one it lost",
                self._item.id,
                prediction.id,
            )
        found = await self._reconcile()
        if found is None and not self._stopped:
            raise ProviderError(
                f"prediction {prediction.id} was taken by another item with the same input",
                retryable=True,
            )
        return found

    async def _store_prediction(self, prediction: Prediction) -> Prediction | None:
        """Raises _OwnedElsewhere when another item already holds this prediction id."""
        context = self._context
        holder = await context.deps.repo.item_by_prediction(prediction.id)
        if holder is not None and holder.id != self._item.id:
            raise _OwnedElsewhere(prediction.id)
        try:
            stored = await context.update(ItemUpdate.running(prediction.id))
        except IntegrityError:
            raise _OwnedElsewhere(prediction.id) from None  # taken between the read and the write
        if stored:
            return prediction
        # Canceled while the create was in flight: keep the id on record and stop paying for it.
        with contextlib.suppress(IntegrityError):
            await context.update(ItemUpdate.prediction_kept(prediction.id))
        await context.cancel_remote(prediction.id)
        return None

    # ---- adoption: a webhook tagged with this item brings the prediction a lost answer started --

    def _adoption(self) -> asyncio.Future[Prediction]:
        if self._offered is None:
            self._offered = asyncio.get_running_loop().create_future()
        return self._offered

    async def _pause(self, seconds: float) -> Prediction | None:
        """Sleeps, unless a tagged webhook brings this item's prediction first (then returns it)."""
        adopted = self._adoption()
        interrupted: asyncio.Future[Any] = asyncio.ensure_future(self._context.interrupted.wait())
        waits: set[asyncio.Future[Any]] = {adopted, interrupted}
        try:
            # asyncio.wait leaves the adoption future alone when the time is up.
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            interrupted.cancel()
        return self._take_adopted()

    def _take_adopted(self) -> Prediction | None:
        """The prediction a webhook offered, once (a later offer starts afresh)."""
        offered = self._offered
        if offered is None or not offered.done():
            return None
        self._offered = None
        return offered.result()
