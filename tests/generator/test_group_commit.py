"""Item writes: SQLite's group commit behaves as if each write ran alone, both dialects honour the
lease fence, and cache lookups at once share a query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.runtime.database import create_engine, database_url
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind
from services.generator.item_updates import ItemUpdate
from services.generator.records import ItemRecord, JobRecord
from services.generator.repository import Repository
from services.generator.settings import GeneratorSettings
from services.generator.webhook_deliveries import WebhookDeliveries


@pytest.fixture
async def repo(data_dir: Path) -> AsyncIterator[Repository]:
    engine = create_engine(database_url(None, data_dir, "generator"))
    repository = Repository(engine, "t_")
    await repository.create_schema()
    yield repository
    await engine.dispose()


def _job(job_id: str, items: int, *, cache_key: str = "") -> JobRecord:
    now = time.time()
    job = JobRecord(
        job_id, Kind.CLIPS, pb.JOB_STATE_PENDING, common_pb2.TIER_DRAFT, 1, "replicate", "m/n", 0
    )
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


def _submitting() -> ItemUpdate:
    return ItemUpdate.submitting(attempts=1, started_at=time.time(), deadline_at=time.time() + 60)


async def test_a_batch_of_item_writes_refreshes_the_job(repo: Repository) -> None:
    job = _job("j1", 3)
    await repo.insert_job(job)
    changed = await asyncio.gather(
        *(repo.update_item(item, ItemUpdate.running(f"p{i}"))
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
        repo.update_item(item, ItemUpdate.canceled("canceled by request")),
        repo.update_item(runner_view, _submitting()),
        repo.update_item(other, _submitting()),
    )
    assert (cancel, runner, neighbour) == (True, False, True)
    loaded = await repo.load_job("j2")
    assert loaded is not None
    assert [(i.state, i.attempts) for i in loaded.items] == [
        (pb.ITEM_STATE_CANCELED, 0),
        (pb.ITEM_STATE_SUBMITTING, 1),
    ]
    # Writes that do not require an active item (keeping a late prediction id) still land.
    assert await repo.update_item(item, ItemUpdate.prediction_kept("late"))
    assert (await repo.item_by_prediction("late")) is not None


async def test_two_writes_to_one_item_in_a_batch_land_in_order(repo: Repository) -> None:
    job = _job("j3", 1)
    await repo.insert_job(job)
    item = job.items[0]
    copy = ItemRecord(**{**vars(item), "outputs": []})
    outputs = [ArtifactMeta(id="a" * 64, mime_type="video/mp4", size_bytes=1)]
    await asyncio.gather(
        repo.update_item(item, ItemUpdate.downloading()),
        repo.update_item(copy, ItemUpdate.succeeded(outputs, cost_micros=0)),
    )
    loaded = await repo.load_job("j3")
    assert loaded is not None and loaded.state == pb.JOB_STATE_SUCCEEDED
    assert loaded.items[0].state == pb.ITEM_STATE_SUCCEEDED
    assert loaded.items[0].outputs == outputs


async def test_webhook_ids_are_remembered_once_even_within_a_batch(repo: Repository) -> None:
    deliveries = WebhookDeliveries(repo.writes, repo.tables.webhooks)
    first, again, other = await asyncio.gather(
        deliveries.remember("msg_1", "p1"),
        deliveries.remember("msg_1", "p1"),
        deliveries.remember("msg_2", "p2"),
    )
    assert (first, again, other) == (True, False, True)
    assert not await deliveries.remember("msg_2", "p2")


async def test_cache_lookups_at_once_share_a_query_and_find_the_newest(repo: Repository) -> None:
    job = _job("j4", 2, cache_key="same")
    await repo.insert_job(job)
    outputs = [ArtifactMeta(id="b" * 64, mime_type="video/mp4", size_bytes=1)]
    for record in job.items:
        await repo.update_item(record, ItemUpdate.succeeded(outputs, cost_micros=0))
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
        repo.update_item(job.items[0], ItemUpdate.running("p-same")),
        repo.update_item(job.items[1], ItemUpdate.running("p-same")),
        repo.update_item(job.items[2], ItemUpdate.running("p-other")),
        return_exceptions=True,
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], IntegrityError)
    stored = await repo.load_job("j9")
    assert stored is not None
    assert [item.prediction_id for item in stored.items] == ["p-same", "", "p-other"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_write_fenced_by_a_stale_owner_does_not_land(
    make_settings: Callable[..., GeneratorSettings],
) -> None:
    # The item's lease passed to another replica: the old owner's write must not land, on
    # SQLite's group commit as on PostgreSQL, even batched with the new owner's write.
    settings = make_settings()
    engine = create_engine(database_url(settings.database_url, settings.data_dir, "generator"))
    repository = Repository(engine, settings.generator_table_prefix)
    try:
        await repository.create_schema()
        job = _job("j-fence", 2)
        await repository.insert_job(job, {"owner": "new", "lease_expires_at": time.time() + 30})
        stale, current = job.items
        results = await asyncio.gather(
            repository.update_item(stale, ItemUpdate.running("p-stale"), fence="old"),
            repository.update_item(current, ItemUpdate.running("p-new"), fence="new"),
        )
        assert list(results) == [False, True]
        loaded = await repository.load_job("j-fence")
        assert loaded is not None
        assert [item.prediction_id for item in loaded.items] == ["", "p-new"]
        assert stale.state == pb.ITEM_STATE_QUEUED, "a refused write leaves the record alone"
    finally:
        await engine.dispose()
