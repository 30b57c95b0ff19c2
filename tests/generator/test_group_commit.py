"""SQLite group commit and coalesced cache lookups: batched writes behave as if each ran alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.runtime.database import create_engine, database_url
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind
from services.generator.records import ItemRecord, JobRecord
from services.generator.repository import Repository


@pytest.fixture
async def repo(data_dir: Path) -> AsyncIterator[Repository]:
    engine = create_engine(database_url(None, data_dir, "generator"))
    repository = Repository(engine, "t_")
    await repository.create_schema()
    yield repository
    await engine.dispose()


def _job(job_id: str, items: int, *, cache_key: str = "") -> JobRecord:
    now = time.time()
    job = JobRecord(job_id, Kind.CLIPS, pb.JOB_STATE_PENDING, 1, 1, "replicate", "m/n", 0)
    job.created_at = job.updated_at = now
    job.items = [
        ItemRecord(
            id=f"{job_id}-{index}",
            job_id=job_id,
            index=index,
            kind=Kind.CLIPS,
            state=pb.ITEM_STATE_QUEUED,
            provider="replicate",
            model="m/n",
            spec={},
            input={"prompt": str(index)},
            cache_key=cache_key or f"{job_id}-{index}",
            estimated_cost_micros=0,
            created_at=now + index,
            updated_at=now,
        )
        for index in range(items)
    ]
    return job


async def test_a_batch_of_item_writes_refreshes_the_job(repo: Repository) -> None:
    job = _job("j1", 3)
    await repo.insert_job(job)
    changed = await asyncio.gather(
        *(repo.update_item(item, state=pb.ITEM_STATE_RUNNING, prediction_id=f"p{i}")
          for i, item in enumerate(job.items))
    )  # fmt: skip
    assert changed == [True, True, True]
    loaded = await repo.load_job("j1")
    assert loaded is not None and loaded.state == pb.JOB_STATE_RUNNING
    assert [item.prediction_id for item in loaded.items] == ["p0", "p1", "p2"]
    assert all(item.state == pb.ITEM_STATE_RUNNING for item in job.items), "records follow"


async def test_a_cancel_queued_first_wins_over_the_runner_in_the_same_batch(
    repo: Repository,
) -> None:
    job = _job("j2", 2)
    await repo.insert_job(job)
    item, other = job.items
    runner_view = ItemRecord(**{**vars(item), "outputs": []})  # the runner's own copy
    cancel, runner, neighbour = await asyncio.gather(
        repo.update_item(item, state=pb.ITEM_STATE_CANCELED, error="canceled by request"),
        repo.update_item(runner_view, state=pb.ITEM_STATE_SUBMITTING, attempts=1),
        repo.update_item(other, state=pb.ITEM_STATE_SUBMITTING, attempts=1),
    )
    assert (cancel, runner, neighbour) == (True, False, True)
    loaded = await repo.load_job("j2")
    assert loaded is not None
    assert [(i.state, i.attempts) for i in loaded.items] == [
        (pb.ITEM_STATE_CANCELED, 0),
        (pb.ITEM_STATE_SUBMITTING, 1),
    ]
    # Writes that do not require an active item (keeping a late prediction id) still land.
    assert await repo.update_item(item, only_if_active=False, prediction_id="late")
    assert (await repo.item_by_prediction("late")) is not None


async def test_two_writes_to_one_item_in_a_batch_land_in_order(repo: Repository) -> None:
    job = _job("j3", 1)
    await repo.insert_job(job)
    item = job.items[0]
    copy = ItemRecord(**{**vars(item), "outputs": []})
    outputs = [ArtifactMeta(id="a" * 64, mime_type="video/mp4", size_bytes=1)]
    await asyncio.gather(
        repo.update_item(item, state=pb.ITEM_STATE_DOWNLOADING),
        repo.update_item(copy, state=pb.ITEM_STATE_SUCCEEDED, outputs=outputs),
    )
    loaded = await repo.load_job("j3")
    assert loaded is not None and loaded.state == pb.JOB_STATE_SUCCEEDED
    assert loaded.items[0].state == pb.ITEM_STATE_SUCCEEDED
    assert loaded.items[0].outputs == outputs


async def test_webhook_ids_are_remembered_once_even_within_a_batch(repo: Repository) -> None:
    first, again, other = await asyncio.gather(
        repo.remember_webhook("msg_1", "p1"),
        repo.remember_webhook("msg_1", "p1"),
        repo.remember_webhook("msg_2", "p2"),
    )
    assert (first, again, other) == (True, False, True)
    assert not await repo.remember_webhook("msg_2", "p2")


async def test_cache_lookups_at_once_share_a_query_and_find_the_newest(repo: Repository) -> None:
    job = _job("j4", 2, cache_key="same")
    await repo.insert_job(job)
    outputs = [ArtifactMeta(id="b" * 64, mime_type="video/mp4", size_bytes=1)]
    for record in job.items:
        await repo.update_item(record, state=pb.ITEM_STATE_SUCCEEDED, outputs=outputs)
    newer = job.items[1]  # created a second after the first
    queries = 0
    fetch = repo._find_cached_many

    async def counting(keys: list[str]) -> dict[str, ItemRecord]:
        nonlocal queries
        queries += 1
        return await fetch(keys)

    repo._cache_lookups._fetch = counting
    hits = await asyncio.gather(*(repo.find_cached(key) for key in ("same", "same", "none")))
    assert queries == 1
    assert [hit.id if hit else None for hit in hits] == [newer.id, newer.id, None]


async def test_one_conflicting_write_does_not_fail_its_batch(repo: Repository) -> None:
    # Two items storing the same prediction id in one batch: the second breaks uniqueness.
    # Only that write may fail; the others batched with it land as if each ran alone.
    job = _job("j9", 3)
    await repo.insert_job(job)
    results = await asyncio.gather(
        repo.update_item(job.items[0], state=pb.ITEM_STATE_RUNNING, prediction_id="p-same"),
        repo.update_item(job.items[1], state=pb.ITEM_STATE_RUNNING, prediction_id="p-same"),
        repo.update_item(job.items[2], state=pb.ITEM_STATE_RUNNING, prediction_id="p-other"),
        return_exceptions=True,
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], IntegrityError)
    stored = await repo.load_job("j9")
    assert stored is not None
    assert [item.prediction_id for item in stored.items] == ["p-same", "", "p-other"]
