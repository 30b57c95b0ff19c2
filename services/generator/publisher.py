"""Publishes job snapshots to watchers: coalesced per job, in order, and only when someone watches."""

from __future__ import annotations

import asyncio
import logging

from reelforge.runtime.events import Broadcaster
from reelforge.runtime.tasks import cancel_and_wait
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import ModelCatalog, load_catalog
from services.generator.repository import Repository
from services.generator.snapshots import job_to_proto

_LOGGER = logging.getLogger(__name__)


class SnapshotPublisher:
    def __init__(
        self,
        repo: Repository,
        broadcaster: Broadcaster[pb.Job],
        catalog: ModelCatalog | None = None,
    ) -> None:
        self._repo = repo
        self._broadcaster = broadcaster
        self._catalog = catalog or load_catalog()  # the service passes its own (items' lengths)
        self._dirty: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def notify(self, job_id: str) -> None:
        """The job changed. One flusher per job reloads and publishes until nothing new happened."""
        if not self._broadcaster.watchers(job_id):
            return  # nobody watches: costs nothing
        self._dirty.add(job_id)
        if job_id not in self._tasks:
            self._tasks[job_id] = asyncio.create_task(self._flush(job_id))

    async def _flush(self, job_id: str) -> None:
        try:
            while job_id in self._dirty:
                self._dirty.discard(job_id)
                job = await self._repo.load_job(job_id)
                if job is not None:
                    self._broadcaster.publish(job_id, job_to_proto(job, self._catalog))
        except Exception:
            _LOGGER.exception("publishing job %s failed", job_id)
        finally:
            self._tasks.pop(job_id, None)

    async def aclose(self) -> None:
        await cancel_and_wait(list(self._tasks.values()))
