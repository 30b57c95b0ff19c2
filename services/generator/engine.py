"""The job engine: persists jobs, runs their items in parallel, cancels, retries and resumes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

from reelforge.runtime.errors import FailedPrecondition, NotFound
from reelforge.runtime.events import Broadcaster
from reelforge.runtime.leases import LeaseKeeper, Leases
from reelforge.v1 import generator_pb2 as pb
from services.generator.item_updates import ItemUpdate
from services.generator.providers.base import Prediction
from services.generator.publisher import SnapshotPublisher
from services.generator.records import TERMINAL_JOB_STATES, ItemRecord, JobRecord
from services.generator.runner.context import item_tag
from services.generator.runner.deps import RunnerDeps
from services.generator.runner.runner import ItemRunner
from services.generator.snapshots import job_to_proto

_LOGGER = logging.getLogger(__name__)


class JobEngine:
    """Runs the items this process holds leases on; watchers see every replica's changes."""

    def __init__(
        self,
        deps: RunnerDeps,
        leases: Leases,
        broadcaster: Broadcaster[pb.Job],
        publisher: SnapshotPublisher,
    ) -> None:
        self._deps = deps
        self._leases = leases
        self._broadcaster = broadcaster
        self._publisher = publisher
        self._runners: dict[str, ItemRunner] = {}
        self._keeper = LeaseKeeper(
            leases,
            held=lambda: list(self._runners),
            on_claimed=self._run_claimed,
            on_lost=self._stop_lost,
        )

    async def resume_interrupted(self) -> int:
        """Claims every unfinished item nobody holds and runs it; keeps claiming every TTL/2.

        Each resumed item looks its prediction up rather than creating it again.
        """
        return await self._keeper.start()

    async def submit(self, job: JobRecord) -> pb.Job:
        """Persists the job and its items (leased to this process), starts them, and answers at once."""
        await self._deps.repo.insert_job(job, self._leases.fresh())
        for item in job.items:
            self._spawn(item)
        return job_to_proto(job, self._deps.settings.model_catalog)

    async def get(self, job_id: str) -> pb.Job:
        return job_to_proto(await self._load(job_id), self._deps.settings.model_catalog)

    async def cancel(self, job_id: str) -> pb.Job:
        job = await self._load(job_id)
        if job.state in TERMINAL_JOB_STATES:
            return job_to_proto(job, self._deps.settings.model_catalog)
        await self._deps.repo.mark_job_canceled(job_id)
        for item in job.items:
            if item.terminal:
                continue
            # The durable verdict first; runners only ever write to active items.
            await self._deps.repo.update_item(item, ItemUpdate.canceled("canceled by request"))
            self._cancel_runner(item.id)
        self._publisher.notify(job_id)
        return await self.get(job_id)

    async def retry(self, job_id: str) -> pb.Job:
        job = await self._load(job_id)
        if not any(item.state == pb.ITEM_STATE_FAILED for item in job.items):
            raise FailedPrecondition(
                "the job has no failed items to retry", reason="NOTHING_TO_RETRY"
            )
        failed = [pb.ITEM_STATE_FAILED]
        reset = {
            item.id
            for item in await self._deps.repo.reset_items(job_id, failed, self._leases.fresh())
        }
        job = await self._load(job_id)
        for item in job.items:
            if item.id in reset:
                self._spawn(item)
        self._publisher.notify(job_id)
        return job_to_proto(job, self._deps.settings.model_catalog)

    async def apply_prediction_update(self, prediction: Prediction, item_id: str = "") -> None:
        """A webhook's snapshot wakes the item waiting on it (idempotent: runners decide once).

        ``item_id`` is the ``?item=`` tag of the URL the delivery came to, when the caller
        knows it; else the tag in the body's ``webhook`` field is used, if Replicate sent it.
        """
        watched_here = self._deps.watches.watching(prediction.id)
        self._deps.watches.push(prediction)
        if watched_here:
            return
        # Nobody here waits on this id: maybe its create answer was lost. The item id in the
        # webhook URL names the owner; if that item is still submitting here, it adopts it.
        owner = self._runners.get(item_id or item_tag(prediction.webhook))
        if owner is not None and owner.adopt(prediction):
            _LOGGER.info(
                "item %s adopts prediction %s from its webhook", owner.item.id, prediction.id
            )
            return
        # Its item may run on another replica: that one polls the prediction now.
        await self._deps.repo.wake_elsewhere(prediction.id)

    @contextlib.contextmanager
    def subscribe(self, job_id: str) -> Iterator[AsyncIterator[pb.Job]]:
        """A watcher's snapshots (subscribed before the first read, so nothing is missed)."""
        with self._broadcaster.subscribe(job_id) as updates:
            yield updates

    def on_job_changed(self, job_id: str) -> None:
        """A job changed on some replica (PostgreSQL NOTIFY): watchers here get a fresh snapshot."""
        self._publisher.notify(job_id)

    def on_wake(self, prediction_id: str) -> None:
        """A webhook for this prediction reached another replica: its waiting runner polls now."""
        self._deps.watches.wake(prediction_id)

    def republish_watched(self) -> None:
        """After a LISTEN reconnection: changes in the gap were not heard, so re-read every watched job."""
        for job_id in self._broadcaster.watched_keys():
            self._publisher.notify(job_id)

    async def shutdown(self) -> None:
        """Stops runners without touching their state, then hands their leases back for others."""
        await self._keeper.stop()
        runners = list(self._runners.values())
        await asyncio.gather(*(runner.stop() for runner in runners))
        await self._leases.hand_back([runner.item.id for runner in runners])
        await self._publisher.aclose()

    async def _run_claimed(self, item_ids: list[str]) -> None:
        """Items just claimed (at start-up, or from a replica whose lease expired) start here."""
        items = [
            i for i in await self._deps.repo.items_by_ids(item_ids) if i.id not in self._runners
        ]
        for item in items:
            if not item.terminal:
                self._spawn(item)
        _LOGGER.info("resumed %s unfinished items", len(items), extra={"resumed": len(items)})

    async def _stop_lost(self, item_ids: set[str]) -> None:
        """Items whose lease did not renew: finished or canceled (by any replica) stop as a cancel
        does; items another replica took over stop at once and write nothing."""
        for item in await self._deps.repo.items_by_ids(item_ids):
            runner = self._runners.get(item.id)
            if runner is None:
                continue
            if item.terminal:
                runner.cancel()
                continue
            _LOGGER.warning("item %s: lease taken over by another replica; stopping", item.id)
            runner.abandon()

    async def _load(self, job_id: str) -> JobRecord:
        job = await self._deps.repo.load_job(job_id) if job_id else None
        if job is None:
            raise NotFound(f"job {job_id!r} not found", reason="JOB_NOT_FOUND")
        return job

    def _spawn(self, item: ItemRecord) -> None:
        runner = ItemRunner(item, self._deps)
        self._runners[item.id] = runner
        runner.start(on_done=self._forget)

    def _forget(self, runner: ItemRunner) -> None:
        if self._runners.get(runner.item.id) is runner:
            del self._runners[runner.item.id]

    def _cancel_runner(self, item_id: str) -> None:
        runner = self._runners.get(item_id)
        if runner is not None:
            runner.cancel()
