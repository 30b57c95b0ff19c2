"""The job engine: persists jobs, runs their items in parallel, cancels, retries and resumes them."""

from __future__ import annotations

import asyncio
import logging

from reelforge.runtime.errors import FailedPrecondition, NotFound
from reelforge.runtime.events import Broadcaster
from reelforge.v1 import generator_pb2 as pb
from services.generator.item_runner import ItemRunner, RunnerDeps
from services.generator.providers.base import Prediction
from services.generator.publisher import SnapshotPublisher
from services.generator.records import TERMINAL_JOB_STATES, ItemRecord, JobRecord
from services.generator.snapshots import job_to_proto

_LOGGER = logging.getLogger(__name__)
# Phases in which cancelling the runner's task is safe (no create in flight whose id would be lost).
_TASK_CANCELABLE = frozenset({"queued", "downloading", "local"})


class JobEngine:
    def __init__(self, deps: RunnerDeps, broadcaster: Broadcaster[pb.Job]) -> None:
        self._deps = deps
        self._repo = deps.repo
        self.broadcaster = broadcaster
        self._publisher = SnapshotPublisher(deps.repo, broadcaster)
        deps.notify = self._publisher.notify
        self._runners: dict[str, tuple[ItemRunner, asyncio.Task[None]]] = {}

    async def resume(self) -> int:
        """Restarts every unfinished item; each looks its prediction up rather than creating it again."""
        items = await self._repo.unfinished_items()
        for item in items:
            self._spawn(item)
        if items:
            _LOGGER.info("resumed %s unfinished items", len(items))
        return len(items)

    async def submit(self, job: JobRecord) -> pb.Job:
        """Persists the job and its items, starts them, and answers at once."""
        await self._repo.insert_job(job)
        for item in job.items:
            self._spawn(item)
        return job_to_proto(job)

    async def get(self, job_id: str) -> pb.Job:
        return job_to_proto(await self._load(job_id))

    async def cancel(self, job_id: str) -> pb.Job:
        job = await self._load(job_id)
        if job.state in TERMINAL_JOB_STATES:
            return job_to_proto(job)
        await self._repo.mark_job_canceled(job_id)
        for item in job.items:
            if item.terminal:
                continue
            # The durable verdict first; runners only ever write to active items.
            await self._repo.update_item(
                item, state=pb.ITEM_STATE_CANCELED, error="canceled by request"
            )
            self._stop_runner(item)
        self._publisher.notify(job_id)
        return await self.get(job_id)

    async def retry(self, job_id: str) -> pb.Job:
        job = await self._load(job_id)
        if not any(item.state == pb.ITEM_STATE_FAILED for item in job.items):
            raise FailedPrecondition(
                "the job has no failed items to retry", reason="NOTHING_TO_RETRY"
            )
        reset = {item.id for item in await self._repo.reset_items(job_id, [pb.ITEM_STATE_FAILED])}
        job = await self._load(job_id)
        for item in job.items:
            if item.id in reset:
                self._spawn(item)
        self._publisher.notify(job_id)
        return job_to_proto(job)

    def apply_prediction_update(self, prediction: Prediction) -> None:
        """A webhook's snapshot wakes the item waiting on it (idempotent: runners decide once)."""
        self._deps.watches.push(prediction)

    async def shutdown(self) -> None:
        """Stops runners without touching their state: the next start resumes them."""
        tasks = [task for _, task in self._runners.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._publisher.aclose()

    async def _load(self, job_id: str) -> JobRecord:
        job = await self._repo.load_job(job_id) if job_id else None
        if job is None:
            raise NotFound(f"job {job_id!r} not found", reason="JOB_NOT_FOUND")
        return job

    def _spawn(self, item: ItemRecord) -> None:
        runner = ItemRunner(item, self._deps)
        task = asyncio.create_task(runner.run(), name=f"item-{item.id}")
        self._runners[item.id] = (runner, task)
        task.add_done_callback(lambda _: self._forget(item.id, task))

    def _forget(self, item_id: str, task: asyncio.Task[None]) -> None:
        current = self._runners.get(item_id)
        if current is not None and current[1] is task:
            del self._runners[item_id]

    def _stop_runner(self, item: ItemRecord) -> None:
        entry = self._runners.get(item.id)
        if entry is None:
            return
        runner, task = entry
        runner.request_cancel()
        if runner.phase in _TASK_CANCELABLE:
            task.cancel()
