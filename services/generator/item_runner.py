"""Runs one item: cache → slot → create (id stored before waiting) → wait → download → verdict."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.exc import IntegrityError

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.leases import LeaseLost
from reelforge.v1 import generator_pb2 as pb
from services.generator import pricing
from services.generator.backoff import RetryBudget, poll_intervals
from services.generator.catalog import base_model
from services.generator.keyed_locks import KeyedLocks
from services.generator.limits import ConcurrencyLimits, RateLimiter
from services.generator.outputs import OutputError, OutputFetcher
from services.generator.prediction_watch import PredictionWatches
from services.generator.providers.base import (
    LocalProvider,
    Prediction,
    PredictionStatus,
    ProviderError,
    RemoteProvider,
    one_line,
)
from services.generator.providers.replicate_inputs import same_input
from services.generator.records import ItemRecord
from services.generator.repository import Repository
from services.generator.settings import GeneratorSettings

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
# Reconciliation looks a little before the create was sent: clocks differ between us and the provider.
_CLOCK_SKEW_S = 120.0


@dataclass
class RunnerDeps:
    """What every item runner shares (one per engine)."""

    settings: GeneratorSettings
    repo: Repository
    store: ArtifactStore
    fetcher: OutputFetcher
    limits: ConcurrencyLimits
    creates: RateLimiter
    watches: PredictionWatches
    remote: RemoteProvider | None
    local: LocalProvider
    notify: Callable[[str], None]  # the job changed: publish a snapshot to watchers
    owner: str = ""  # this process's lease owner id; runners' writes are fenced by it
    # Whether this process's leases still hold for the given seconds (checked before each create).
    lease_safe: Callable[[float], bool] = lambda _margin_s: True
    # Held per model input while a create is sent and stored, or a lost one looked for.
    submissions: KeyedLocks = field(default_factory=KeyedLocks)


class ItemRunner:
    """One item's run; ``phase`` tells the engine how a cancel request reaches it."""

    def __init__(self, item: ItemRecord, deps: RunnerDeps) -> None:
        self.item = item
        self._deps = deps
        self._settings = deps.settings
        self.phase = "queued"  # queued | submitting | waiting | downloading | local
        self.cancel_requested = False
        self._offered: asyncio.Future[Prediction] | None = None  # see adopt()
        self._interrupt = asyncio.Event()  # set by a cancel request
        self._adopted: Prediction | None = None  # adopted during a reconciliation pause

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise  # shutdown, or a cancel while queued/downloading/rendering: state is already durable
        except LeaseLost:
            # Another replica holds the item now and resumes it (looking its prediction up).
            _LOGGER.warning("item %s: lease lost; another replica runs it", self.item.id)
        except Exception as error:
            # Last resort: a bug must not leave the item running forever.
            _LOGGER.exception("item %s crashed", self.item.id)
            with contextlib.suppress(LeaseLost):
                await self._fail(f"internal error: {type(error).__name__}")

    def request_cancel(self) -> None:
        self.cancel_requested = True
        self._interrupt.set()  # ends a back-off or reconciliation pause at once
        if self.item.prediction_id:
            self._deps.watches.wake(self.item.prediction_id)

    async def _run(self) -> None:
        item = self.item
        # 1. An identical earlier request already paid for: reuse its outputs at no cost.
        if item.state == pb.ITEM_STATE_QUEUED and await self._serve_from_cache():
            return
        # 2. Wait for a slot under the overall and per-model limits.
        async with self._deps.limits.slot(item.model):
            if item.provider == self._deps.local.name:
                # 3a. Offline: render here and now; there is no prediction to poll.
                await self._render_locally()
                return
            # 3. Resume, reconcile or create the prediction; its id is stored before any wait.
            prediction = await self._obtain_prediction()
            if prediction is None:
                return
            # 4. Wait for a terminal status: webhook wake-ups, polling back-off, the deadline.
            final = await self._wait_terminal(prediction)
            if final is None:
                return
            # 5. Record the verdict; outputs are downloaded at once (Replicate deletes them in ~1 h).
            await self._finish(final)

    # ---- state writes ---------------------------------------------------------------------

    async def _update(self, *, only_if_active: bool = True, **values: Any) -> bool:
        """Writes only while this process holds the item's lease (LeaseLost otherwise)."""
        repo, owner = self._deps.repo, self._deps.owner or None
        changed = await repo.update_item(
            self.item, only_if_active=only_if_active, fence=owner, **values
        )
        if changed:
            self._deps.notify(self.item.job_id)
        elif owner is not None and await repo.owner_of(self.item.id) != owner:
            raise LeaseLost(self.item.id)
        return changed

    async def _fail(self, error: str) -> None:
        _LOGGER.warning(
            "item %s failed: %s", self.item.id, error, extra={"job_id": self.item.job_id}
        )
        await self._update(state=pb.ITEM_STATE_FAILED, error=error)

    # ---- steps ----------------------------------------------------------------------------

    async def _serve_from_cache(self) -> bool:
        hit = await self._deps.repo.find_cached(self.item.cache_key)
        if hit is None or not all(self._deps.store.get(meta.id) for meta in hit.outputs):
            return False
        _LOGGER.info("item %s served from the cache of item %s", self.item.id, hit.id)
        return await self._update(
            state=pb.ITEM_STATE_SUCCEEDED, outputs=hit.outputs, cached=True, actual_cost_micros=0
        )

    async def _render_locally(self) -> None:
        self.phase = "local"
        item = self.item
        local_id = f"animatic-{item.id}"
        if not await self._update(
            state=pb.ITEM_STATE_RUNNING, prediction_id=local_id, attempts=item.attempts + 1
        ):
            return
        with tempfile.TemporaryDirectory(dir=self._deps.store.root / ".tmp") as workdir:
            try:
                paths = await self._deps.local.render(item.kind, item.input, Path(workdir))
                outputs = [await self._deps.fetcher.store_file(path) for path in paths]
            except (OSError, ValueError, RuntimeError, OutputError) as error:
                await self._fail(f"offline render failed: {error}")
                return
        await self._update(state=pb.ITEM_STATE_SUCCEEDED, outputs=outputs, actual_cost_micros=0)

    async def _obtain_prediction(self) -> Prediction | None:
        item = self.item
        self.phase = "submitting"
        try:
            if item.prediction_id:
                # Resumed after a restart: look the prediction up, never create it again.
                return await self._resume(item.prediction_id)
            return await self._submit()
        except ProviderError as error:
            await self._fail(str(error))
            return None

    async def _resume(self, prediction_id: str) -> Prediction | None:
        """The stored prediction's state; during an outage, wait for it as polling would.

        A paid prediction keeps running while Replicate's API is unreachable: failing the
        item would throw its output away. The wait polls under the usual back-off until
        the item's deadline. A refusal (token revoked, prediction gone) fails the item.
        """
        try:
            return await self._with_retries(lambda: self._remote.get(prediction_id))
        except ProviderError as error:
            if not error.retryable:
                await self._give_up(prediction_id, str(error))
                return None
            _LOGGER.warning(
                "item %s: cannot look %s up yet (%s)", self.item.id, prediction_id, error
            )
            return Prediction(
                id=prediction_id,
                model=self.item.model,
                status=PredictionStatus.RUNNING,
                provider_status="unknown",
            )

    async def _submit(self) -> Prediction | None:
        """Creates the prediction (once), or finds the one a lost create answer started."""
        item = self.item
        if item.state == pb.ITEM_STATE_SUBMITTING:
            # Died between "create sent" and "id stored": find it before any new create.
            async with self._deps.submissions.hold(item.cache_key):
                found = await self._reconcile()
            if found is not None or self._stopped:
                return found
        budget: RetryBudget | None = None
        while True:
            now = time.time()
            if item.deadline_at and now >= item.deadline_at:
                await self._fail(self._deadline_text("no prediction could be started"))
                return None
            # The attempt is durable before the create is sent, so a crash leaves a trace to reconcile.
            deadline = item.deadline_at or now + self._settings.item_deadline_s
            if not await self._update(
                state=pb.ITEM_STATE_SUBMITTING,
                attempts=item.attempts + 1,
                submit_started_at=now,
                deadline_at=deadline,
            ):
                return None  # canceled before anything was sent
            # Retries never outlast the deadline (known from the first attempt on).
            budget = budget or RetryBudget(self._settings, item.deadline_at)
            await self._deps.creates.acquire()
            # A create is paid: send it only while the lease surely outlives the call's start,
            # so no other replica can be reconciling (and re-creating) this item meanwhile.
            if not self._deps.lease_safe(self._settings.lease_ttl_s / 3):
                raise LeaseLost(item.id)
            async with self._deps.submissions.hold(item.cache_key):
                try:
                    return await self._create_once()
                except ProviderError as error:
                    failure = error
            delay = budget.next_delay(failure)
            if delay is None:
                await self._fail(str(failure))
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
        item = self.item
        remaining = item.deadline_at - time.time()
        try:
            prediction = await self._create_or_adopt(remaining)
        except ProviderError as error:
            if not error.outcome_unknown:
                raise
            _LOGGER.info("item %s: create answer lost (%s); looking for it", item.id, error)
            found = await self._reconcile()
            if found is not None or self._stopped:
                return found
            raise
        return await self._store_or_find(prediction)

    async def _create_or_adopt(self, remaining_s: float) -> Prediction:
        """The create's answer, or the prediction a webhook tagged with this item brings first."""
        create = asyncio.ensure_future(
            self._remote.create(
                model=self.item.model,
                model_input=self.item.input,
                webhook=self._webhook_url(),
                # Replicate aborts it (unpaid) if it has not started by our deadline.
                cancel_after_s=remaining_s,
            )
        )
        adopted = self._adoption()
        try:
            async with asyncio.timeout(max(remaining_s, 0.001)):
                await asyncio.wait({create, adopted}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            raise ProviderError(
                self._deadline_text("Replicate did not answer the create"),
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
        item = self.item
        since = item.submit_started_at - _CLOCK_SKEW_S
        look_until = item.submit_started_at + self._settings.list_consistency_s
        intervals = poll_intervals(self._settings)
        taken: set[str] = set()  # found, but held by another item
        while True:
            started = time.time()
            adopted, self._adopted = self._adopted, None
            outcome = adopted if adopted is not None else await self._search(since, taken)
            if isinstance(outcome, Prediction):
                found = outcome
                _LOGGER.info(
                    "item %s: found prediction %s created by a lost answer", item.id, found.id
                )
                try:
                    return await self._store_prediction(found)
                except _OwnedElsewhere:
                    taken.add(found.id)  # another item took it meanwhile
                    continue
            if (outcome is _ABSENT and started >= look_until) or self._stopped:
                return None
            if item.deadline_at and time.time() >= item.deadline_at:
                raise ProviderError(
                    self._deadline_text("could not find out whether the lost create ran"),
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
                "item %s: could not read Replicate's list (%s); looking again", self.item.id, error
            )
            return _UNREAD

    async def _find_created(self, since: float, taken: set[str]) -> Prediction | None:
        item = self.item
        claimed = taken | await self._deps.repo.prediction_ids_since(since - 3600)
        return await self._with_retries(
            lambda: self._remote.find_created(
                model=item.model,
                model_input=item.input,
                webhook=self._webhook_url(),
                since=since,
                exclude=claimed,
            )
        )

    async def _store_or_find(self, prediction: Prediction) -> Prediction | None:
        """Stores our prediction's id; if another item holds it, ours is the one it lost: find it."""
        try:
            return await self._store_prediction(prediction)
        except _OwnedElsewhere:
            _LOGGER.warning(
                "item %s: prediction %s is held by another item; looking for the one it lost",
                self.item.id,
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
        holder = await self._deps.repo.item_by_prediction(prediction.id)
        if holder is not None and holder.id != self.item.id:
            raise _OwnedElsewhere(prediction.id)
        try:
            stored = await self._update(state=pb.ITEM_STATE_RUNNING, prediction_id=prediction.id)
        except IntegrityError:
            raise _OwnedElsewhere(prediction.id) from None  # taken between the read and the write
        if stored:
            return prediction
        # Canceled while the create was in flight: keep the id on record and stop paying for it.
        with contextlib.suppress(IntegrityError):
            await self._update(only_if_active=False, prediction_id=prediction.id)
        await self._cancel_remote(prediction.id)
        return None

    async def _wait_terminal(self, prediction: Prediction) -> Prediction | None:
        self.phase = "waiting"
        item = self.item
        intervals = poll_intervals(self._settings)
        watch = self._deps.watches.open(prediction.id)
        try:
            while not prediction.status.terminal:
                remaining = item.deadline_at - time.time()
                if remaining <= 0:
                    return await self._past_deadline(prediction)
                pause = (
                    self._settings.webhook_safety_poll_s
                    if self._settings.webhooks_enabled
                    else next(intervals)
                )
                pushed = await watch.wait(min(pause, remaining))
                if self.cancel_requested:
                    await self._cancel_remote(prediction.id)
                    return None
                try:
                    prediction = pushed or await self._poll(prediction)
                except ProviderError as error:
                    await self._give_up(prediction.id, str(error))
                    return None
        finally:
            self._deps.watches.close(prediction.id)
        return prediction

    async def _past_deadline(self, prediction: Prediction) -> Prediction | None:
        """At the deadline: one last look (a finished, paid output is kept), else cancel."""
        with contextlib.suppress(ProviderError):
            latest = await self._remote.get(prediction.id)
            if latest.status.terminal:
                return latest
        await self._cancel_remote(prediction.id)
        await self._fail(self._deadline_text("no result") + "; prediction canceled")
        return None

    async def _give_up(self, prediction_id: str, error: str) -> None:
        """A refusal while waiting (token revoked, prediction gone): say so, stop paying if we can."""
        canceled = await self._cancel_remote(prediction_id)
        outcome = "canceled" if canceled else "could not be canceled and may still be running"
        await self._fail(f"{error}; prediction {prediction_id} {outcome}")

    async def _poll(self, prediction: Prediction) -> Prediction:
        """The latest state; network errors, 429 and 5xx are waited out (the deadline bounds them)."""
        try:
            return await self._remote.get(prediction.id)
        except ProviderError as error:
            if not error.retryable:
                raise
            _LOGGER.warning("polling %s failed (%s); will try again", prediction.id, error)
            return prediction

    async def _finish(self, prediction: Prediction) -> None:
        item = self.item
        if prediction.status is PredictionStatus.FAILED:
            await self._fail(
                one_line(prediction.error or f"prediction {prediction.provider_status}")
            )
            return
        if prediction.status is PredictionStatus.CANCELED:
            # Not by request (that path never gets here): Replicate, its dashboard or a
            # Cancel-After deadline ended it. The item failed; RetryJob can run it again.
            await self._fail(
                one_line(
                    f"Replicate canceled prediction {prediction.id}"
                    + (f": {prediction.error}" if prediction.error else " (not requested here)")
                )
            )
            return
        if prediction.data_removed and not prediction.output:
            await self._fail(
                f"Replicate already deleted the outputs of prediction {prediction.id} "
                "(it keeps them about an hour); RetryJob runs the item again"
            )
            return
        self.phase = "downloading"
        # DOWNLOADING is written while the download runs, not before it: a crash before the
        # write leaves RUNNING, which resumes the same way (look the prediction up, download).
        marking = asyncio.create_task(self._update(state=pb.ITEM_STATE_DOWNLOADING))
        try:
            outputs = await self._deps.fetcher.ingest(prediction.output)
        except OutputError as error:
            if await marking:
                await self._fail(f"could not store the outputs: {error}")
            return
        except BaseException:
            marking.cancel()  # the queued write still lands in order; nobody waits for it
            raise
        if not await marking:
            return  # canceled meanwhile; stored artifacts are content-addressed and harmless
        if not outputs:
            await self._fail("the provider reported success but returned no output")
            return
        cost = pricing.actual(
            item.model, item.input, outputs=len(outputs), predict_time_s=prediction.predict_time_s
        )
        await self._update(state=pb.ITEM_STATE_SUCCEEDED, outputs=outputs, actual_cost_micros=cost)

    # ---- adoption: a webhook tagged with this item brings the prediction a lost answer started --

    def adopt(self, prediction: Prediction) -> bool:
        """Offers a prediction whose webhook URL names this item; True when it is taken.

        The URL's tag is not covered by the webhook signature, so the signed body must also
        show this item's model and input: a replayed delivery under another item's tag can
        never hand an item someone else's output.
        """
        if self.phase != "submitting" or self.item.prediction_id:
            return False
        if base_model(prediction.model) != base_model(self.item.model):
            return False
        if not same_input(self.item.input, prediction.input):
            return False
        future = self._adoption()
        if not future.done():
            future.set_result(prediction)
        return True

    def _adoption(self) -> asyncio.Future[Prediction]:
        if self._offered is None:
            self._offered = asyncio.get_running_loop().create_future()
        return self._offered

    async def _pause(self, seconds: float) -> Prediction | None:
        """Sleeps, unless a tagged webhook brings this item's prediction first (then returns it)."""
        adopted = self._adoption()
        interrupted: asyncio.Future[Any] = asyncio.ensure_future(self._interrupt.wait())
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

    @property
    def _stopped(self) -> bool:
        return self.cancel_requested

    def _deadline_text(self, what: str) -> str:
        return f"{what} within {self._settings.item_deadline_s:g} s"

    # ---- provider helpers -----------------------------------------------------------------

    @property
    def _remote(self) -> RemoteProvider:
        if self._deps.remote is None:
            raise ProviderError("the replicate provider is not configured", retryable=False)
        return self._deps.remote

    def _webhook_url(self) -> str:
        if not self._settings.webhooks_enabled:
            return ""
        # The item id in the URL tags the prediction, so a lost create can be matched later.
        return f"{self._settings.public_url}/api/webhooks/replicate?item={self.item.id}"

    async def _cancel_remote(self, prediction_id: str) -> bool:
        try:
            # Cancels often come at the deadline: their retries are not bounded by it.
            await self._with_retries(lambda: self._remote.cancel(prediction_id), deadline=False)
        except ProviderError as error:
            _LOGGER.warning("could not cancel prediction %s: %s", prediction_id, error)
            return False
        return True

    async def _with_retries(
        self, call: Callable[[], Awaitable[_T]], *, deadline: bool = True
    ) -> _T:
        """Idempotent calls (get, cancel, list) retried on network errors, 429 and 5xx."""
        budget = RetryBudget(self._settings, self.item.deadline_at if deadline else 0.0)
        while True:
            try:
                return await call()
            except ProviderError as error:
                delay = budget.next_delay(error)
                if delay is None:
                    raise
                await asyncio.sleep(delay)


def item_tag(webhook_url: str) -> str:
    """The item id a prediction's webhook URL names (``?item=<id>``), or ""."""
    values = parse_qs(urlsplit(webhook_url).query).get("item", [])
    return values[0] if values else ""


# Outcomes of one search of the prediction list besides finding the prediction.
_ABSENT = object()  # every page read, not there
_UNREAD = object()  # the list could not be read: proves nothing


class _OwnedElsewhere(Exception):
    """The prediction id is already held by another item (storing it would break uniqueness)."""
