"""The generator's composition root: builds its parts from settings, in order, opening nothing.

Resources open in :meth:`Generator.open` (called by the host at start), each close registered
as it opens; unfinished items resume in :meth:`Generator.resume` once the server serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.events import Broadcaster
from reelforge.runtime.leases import Leases, process_owner_id
from reelforge.runtime.pg_notify import PgListener, asyncpg_dsn
from reelforge.runtime.server import Resources
from reelforge.v1 import generator_pb2 as pb
from services.generator.engine import JobEngine
from services.generator.item_runner import RunnerDeps
from services.generator.limits import ConcurrencyLimits, RateLimiter
from services.generator.outputs import OutputFetcher
from services.generator.prediction_watch import PredictionWatches
from services.generator.providers.animatic import AnimaticProvider
from services.generator.providers.replicate_provider import ReplicateProvider
from services.generator.repository import Repository
from services.generator.settings import GeneratorSettings
from services.generator.webhook_pruning import WebhookPruner
from services.generator.webhooks import WebhookHandler


@dataclass
class Generator:
    settings: GeneratorSettings
    database: AsyncEngine
    repo: Repository
    engine: JobEngine
    webhooks: WebhookHandler
    deps: RunnerDeps
    listener: PgListener | None  # PostgreSQL: other replicas' changes reach watchers here
    pruner: WebhookPruner

    async def open(self, resources: Resources) -> None:
        """Closes run newest first: the pruner and listener stop, then the runners (their state
        stays for the next start), then clients and the database close."""
        # These exist since construction (none has connected yet): their closes come first.
        resources.on_close(self.database.dispose)
        resources.on_close(self.deps.fetcher.aclose)
        resources.on_close(self.deps.local.aclose)
        if self.deps.remote is not None:
            resources.on_close(self.deps.remote.aclose)
        await self.repo.create_schema()
        resources.on_close(self.engine.shutdown)
        if self.listener is not None:
            await self.listener.start()
            resources.on_close(self.listener.aclose)
        self.pruner.start()
        resources.on_close(self.pruner.aclose)

    async def resume(self) -> None:
        """Unfinished items from an earlier run continue (each looks its prediction up first)."""
        await self.engine.resume()


def build_generator(settings: GeneratorSettings) -> Generator:
    """Builds every part in order; opens nothing (see :meth:`Generator.open`)."""
    database = create_engine(database_url(settings.database_url, settings.data_dir, "generator"))
    repo = Repository(database, settings.generator_table_prefix)
    store = ArtifactStore(settings.artifacts_path)
    fetcher = OutputFetcher(store, settings.allow_networks, settings.download_max_bytes)
    remote = ReplicateProvider(settings, store) if settings.replicate_api_token else None
    if remote is not None:
        remote.prepare()  # built here, not inside the first burst of creates
    deps = RunnerDeps(
        settings=settings,
        repo=repo,
        store=store,
        fetcher=fetcher,
        limits=ConcurrencyLimits(settings.max_parallel_items, settings.max_parallel_per_model),
        creates=RateLimiter(settings.replicate_creates_per_minute, 60.0),
        watches=PredictionWatches(),
        remote=remote,
        local=AnimaticProvider(settings, store, fetcher),
        notify=lambda _job_id: None,  # replaced by the engine's publisher
    )
    leases = Leases(
        repo.leased_items,
        owner=process_owner_id(),
        ttl_s=settings.lease_ttl_s,
        write=repo.write_transaction,
        exclusive=database.dialect.name == "sqlite",
    )
    engine = JobEngine(deps, Broadcaster[pb.Job](), leases)
    listener = _listener(database, repo, engine)
    webhooks = WebhookHandler(settings, repo, engine)
    pruner = WebhookPruner(
        repo,
        retention_s=max(settings.webhook_retention_s, settings.webhook_tolerance_s),
        interval_s=settings.webhook_prune_interval_s,
    )
    return Generator(settings, database, repo, engine, webhooks, deps, listener, pruner)


def _listener(database: AsyncEngine, repo: Repository, engine: JobEngine) -> PgListener | None:
    """One LISTEN connection (PostgreSQL only): job changes and webhook wake-ups of every replica."""
    if database.dialect.name != "postgresql":
        return None
    handlers = {repo.changes_channel: engine.on_job_changed, repo.wake_channel: engine.on_wake}
    return PgListener(asyncpg_dsn(database.url), handlers, on_reconnect=engine.republish_watched)
