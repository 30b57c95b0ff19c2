"""An item says SUCCEEDED only once its outputs are in the store: a watcher that reads the file
the moment it sees the state always finds it, even with a slow store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.artifacts import ArtifactMeta, ArtifactStore
from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, clips, generator

# How long each store write is held back: the window in which a row written before its file
# would say SUCCEEDED with nothing to read.
STORE_DELAY_S = 1.0


async def test_a_succeeded_item_s_outputs_are_already_stored(
    fake: FakeReplicate, make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put = ArtifactStore.put_file

    async def slow_put(self: ArtifactStore, *args: Any, **kwargs: Any) -> ArtifactMeta:
        await asyncio.sleep(STORE_DELAY_S)
        return await real_put(self, *args, **kwargs)

    monkeypatch.setattr(ArtifactStore, "put_file", slow_put)
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    fake.latency_s = 0.5
    checked: list[Path] = []
    async with generator(settings) as stub:
        job = await stub.GenerateClips(clips(3), timeout=5)
        async for snapshot in stub.WatchJob(pb.WatchJobRequest(job_id=job.id), timeout=120):
            for item in snapshot.items:
                if item.state == pb.ITEM_STATE_SUCCEEDED:
                    assert item.outputs, "SUCCEEDED with no output"
                    for output in item.outputs:
                        path = store.path_for(output.id)
                        assert path.exists(), f"item {item.index} SUCCEEDED before its file"
                        checked.append(path)
    assert snapshot.state == pb.JOB_STATE_SUCCEEDED, snapshot.error
    assert len(set(checked)) >= 1 and len(checked) >= 3  # every item was seen SUCCEEDED
