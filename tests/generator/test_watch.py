"""WatchJob: every watcher sees the snapshot first, then the changes, and the stream ends at the end."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from reelforge.v1 import generator_pb2 as pb
from services.generator.records import TERMINAL_JOB_STATES
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, clips, generator
from tests.helpers import wait_until


async def test_three_watchers_see_snapshot_changes_and_end(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 3600  # predictions end when told, after every watcher has its snapshot
    async with generator(make_settings()) as stub:
        job = await stub.GenerateClips(clips(3), timeout=5)
        subscribed = asyncio.Semaphore(0)

        async def watch() -> list[pb.Job]:
            call = stub.WatchJob(pb.WatchJobRequest(job_id=job.id), timeout=20)
            messages: list[pb.Job] = []
            async for message in call:
                if not messages:
                    subscribed.release()
                messages.append(message)
            return messages

        watchers = [asyncio.create_task(watch()) for _ in range(3)]
        for _ in watchers:
            await subscribed.acquire()
        await wait_until(lambda: fake.live == 3, what="3 predictions running")
        fake.finish_now()
        streams = await asyncio.gather(*watchers)
        # A watcher that arrives after the end gets the final snapshot and the stream closes.
        late = [
            message async for message in stub.WatchJob(pb.WatchJobRequest(job_id=job.id), timeout=5)
        ]
    for messages in streams:
        assert messages[0].id == job.id
        assert len(messages) >= 3, "snapshot, at least one change, the end"
        assert messages[-1].state == pb.JOB_STATE_SUCCEEDED
        assert all(m.state not in TERMINAL_JOB_STATES for m in messages[:-1])
        percents = [m.percent for m in messages]
        assert percents[-1] == 100.0 and percents[0] < 100.0
    assert len(late) == 1 and late[0].state == pb.JOB_STATE_SUCCEEDED


async def test_watch_unknown_job_is_not_found(make_settings: MakeSettings) -> None:
    async with generator(make_settings()) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stub.WatchJob(pb.WatchJobRequest(job_id="nope"), timeout=5):
                pass
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
