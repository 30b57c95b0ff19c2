"""Old webhook delivery ids are forgotten; recent ones still dedupe replays."""

from __future__ import annotations

import time
from pathlib import Path

from reelforge.runtime.database import create_engine, database_url
from services.generator.repository import Repository
from services.generator.webhook_deliveries import WebhookDeliveries
from services.generator.webhook_pruning import WebhookPruner


async def test_prune_forgets_only_old_delivery_ids(data_dir: Path) -> None:
    engine = create_engine(database_url(None, data_dir, "generator"))
    repo = Repository(engine, "generator_")
    await repo.create_schema()
    deliveries = WebhookDeliveries(repo.writes, repo.tables.webhooks)
    pruner = WebhookPruner(deliveries, retention_s=600, interval_s=3600)
    try:
        assert await deliveries.remember("msg_old", "p1")
        assert not await deliveries.remember("msg_old", "p1")  # a replay is a duplicate
        await pruner.prune_once(now=time.time() + 60)  # within retention: kept
        assert not await deliveries.remember("msg_old", "p1")
        await pruner.prune_once(now=time.time() + 601)  # past retention: forgotten
        assert await deliveries.remember("msg_old", "p1")
    finally:
        await pruner.aclose()
        await engine.dispose()
