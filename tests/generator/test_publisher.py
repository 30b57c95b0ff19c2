"""The snapshot publisher: nothing is read while nobody watches, a burst of changes costs one
read per flush (not one per change), and the last snapshot a watcher gets is the newest."""

from __future__ import annotations

import asyncio
from typing import cast

from reelforge.runtime.events import Broadcaster
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind
from services.generator.publisher import SnapshotPublisher
from services.generator.records import JobRecord
from services.generator.repository import Repository
from tests.helpers import wait_until

JOB = "job-1"
# How long one read of the job takes: changes made meanwhile must wait for the next read.
READ_S = 0.05


class CountingRepo:
    """Serves the job at its current version (carried in ``estimated_cost_micros``)."""

    def __init__(self) -> None:
        self.version = 0
        self.reads = 0

    async def load_job(self, job_id: str) -> JobRecord:
        self.reads += 1
        version = self.version  # what the row says when the read starts
        await asyncio.sleep(READ_S)
        return JobRecord(
            id=job_id, kind=Kind.CLIPS, state=pb.JOB_STATE_RUNNING, tier=common_pb2.TIER_DRAFT,
            aspect_ratio=0, provider="animatic", model="animatic", estimated_cost_micros=version,
        )  # fmt: skip


def _publisher() -> tuple[CountingRepo, Broadcaster[pb.Job], SnapshotPublisher]:
    repo = CountingRepo()
    hub: Broadcaster[pb.Job] = Broadcaster()
    return repo, hub, SnapshotPublisher(cast(Repository, repo), hub)


async def test_nothing_is_read_while_nobody_watches() -> None:
    repo, _, publisher = _publisher()
    for version in range(50):
        repo.version = version
        publisher.notify(JOB)
    await asyncio.sleep(3 * READ_S)
    assert repo.reads == 0
    await publisher.aclose()


async def test_a_burst_is_coalesced_and_the_newest_snapshot_comes_last() -> None:
    repo, hub, publisher = _publisher()
    seen: list[int] = []
    with hub.subscribe(JOB) as messages:

        async def collect() -> None:
            async for job in messages:
                seen.append(job.estimated_cost_micros)

        collecting = asyncio.create_task(collect())
        # 100 changes in one loop turn, then 100 more while that read is under way.
        for version in range(1, 101):
            repo.version = version
            publisher.notify(JOB)
        await asyncio.sleep(READ_S / 2)
        for version in range(101, 201):
            repo.version = version
            publisher.notify(JOB)
        await wait_until(lambda: seen[-1:] == [200], timeout_s=10, what="the newest snapshot")
        collecting.cancel()
    await publisher.aclose()
    assert repo.reads == 2, repo.reads  # one per flush, not one per change (200)
    assert seen == sorted(seen) and seen[-1] == 200, seen
