"""Runs one item: cache → slot → create (id stored before waiting) → wait → download → verdict."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.leases import LeaseLost
from reelforge.v1 import generator_pb2 as pb
from services.generator import pricing
from services.generator.backoff import poll_intervals, retry_delay
from services.generator.limits import ConcurrencyLimits, RateLimiter
from services.generator.outputs import OutputError, OutputFetcher
from services.generator.prediction_watch import PredictionWatches
from services.generator.providers.base import (
    LocalProvider,
    Prediction,
    PredictionStatus,
    ProviderError,
    RemoteProvider,
)
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


class ItemRunner:
    """One item's run; ``phase`` tells the engine how a cancel request reaches it."""

    def __init__(self, item: ItemRecord, deps: RunnerDeps) -> None:
        self.item = item
        self._deps = deps
        self._settings = deps.settings
        self.phase = "queued"  # queued | submitting | waiting | downloading | local
        self.cancel_requested = False

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
                return await self._with_retries(lambda: self._remote.get(item.prediction_id))
            if item.state == pb.ITEM_STATE_SUBMITTING:
                # Died between "create sent" and "id stored": find it before any new create.
                found = await self._reconcile()
                if found is not None:
                    return found
            return await self._create()
        except ProviderError as error:
            await self._fail(str(error))
            return None

    async def _create(self) -> Prediction | None:
        item = self.item
        for attempt in range(self._settings.retry_max_attempts):
            # The attempt is durable before the create is sent, so a crash leaves a trace to reconcile.
            now = time.time()
            deadline = item.deadline_at or now + self._settings.item_deadline_s
            if not await self._update(
                state=pb.ITEM_STATE_SUBMITTING,
                attempts=item.attempts + 1,
                submit_started_at=now,
                deadline_at=deadline,
            ):
                return None  # canceled before anything was sent
            await self._deps.creates.acquire()
            # A create is paid: send it only while the lease surely outlives the call's start,
            # so no other replica can be reconciling (and re-creating) this item meanwhile.
            if not self._deps.lease_safe(self._settings.lease_ttl_s / 3):
                raise LeaseLost(item.id)
            try:
                prediction = await self._remote.create(
                    model=item.model, model_input=item.input, webhook=self._webhook_url()
                )
            except ProviderError as error:
                if error.outcome_unknown and (found := await self._reconcile()) is not None:
                    return found
                if not error.retryable or attempt + 1 == self._settings.retry_max_attempts:
                    await self._fail(str(error))
                    return None
                delay = retry_delay(attempt, self._settings, error.retry_after_s)
                _LOGGER.info(
                    "create of item %s failed (%s); retrying in %.2f s", item.id, error, delay
                )
                await asyncio.sleep(delay)
                continue
            return await self._store_prediction(prediction)
        return None

    async def _reconcile(self) -> Prediction | None:
        """Looks for a prediction this item created although the answer never arrived."""
        item = self.item
        since = item.submit_started_at - _CLOCK_SKEW_S
        claimed = await self._deps.repo.prediction_ids_since(since - 3600)
        found = await self._with_retries(
            lambda: self._remote.find_created(
                model=item.model,
                model_input=item.input,
                webhook=self._webhook_url(),
                since=since,
                exclude=claimed,
            )
        )
        if found is None:
            return None
        _LOGGER.info("item %s: found prediction %s created by a lost answer", item.id, found.id)
        return await self._store_prediction(found)

    async def _store_prediction(self, prediction: Prediction) -> Prediction | None:
        if await self._update(state=pb.ITEM_STATE_RUNNING, prediction_id=prediction.id):
            return prediction
        # Canceled while the create was in flight: keep the id on record and stop paying for it.
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
                    await self._cancel_remote(prediction.id)
                    await self._fail(
                        f"no result within {self._settings.item_deadline_s:g} s; prediction canceled"
                    )
                    return None
                pause = (
                    self._settings.webhook_safety_poll_s
                    if self._settings.webhooks_enabled
                    else next(intervals)
                )
                pushed = await watch.wait(min(pause, remaining))
                if self.cancel_requested:
                    await self._cancel_remote(prediction.id)
                    return None
                prediction = pushed or await self._poll(prediction)
        finally:
            self._deps.watches.close(prediction.id)
        return prediction

    async def _poll(self, prediction: Prediction) -> Prediction:
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
            await self._fail(prediction.error or f"prediction {prediction.provider_status}")
            return
        if prediction.status is PredictionStatus.CANCELED:
            await self._update(state=pb.ITEM_STATE_CANCELED, error="canceled at the provider")
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

    async def _cancel_remote(self, prediction_id: str) -> None:
        try:
            await self._with_retries(lambda: self._remote.cancel(prediction_id))
        except ProviderError as error:
            _LOGGER.warning("could not cancel prediction %s: %s", prediction_id, error)

    async def _with_retries(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """Idempotent calls (get, cancel, list) retried on network errors, 429 and 5xx."""
        for attempt in range(self._settings.retry_max_attempts):
            try:
                return await call()
            except ProviderError as error:
                if not error.retryable or attempt + 1 == self._settings.retry_max_attempts:
                    raise
                await asyncio.sleep(retry_delay(attempt, self._settings, error.retry_after_s))
        raise AssertionError("unreachable")
