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
from reelforge.runtime.leases import process_leases
from reelforge.runtime.pg_notify import PgListener, asyncpg_dsn
from reelforge.runtime.server import Resources
from reelforge.v1 import generator_pb2 as pb
from services.generator.engine import JobEngine
from services.generator.limits import ConcurrencyLimits, RateLimiter
from services.generator.outputs import OutputFetcher
from services.generator.prediction_watch import PredictionWatches
from services.generator.providers.animatic import AnimaticProvider
from services.generator.providers.replicate_provider import ReplicateProvider
from services.generator.publisher import SnapshotPublisher
from services.generator.repository import Repository
from services.generator.runner.deps import Providers, RunnerDeps, Throttles
from services.generator.settings import GeneratorSettings
from services.generator.webhook_deliveries import WebhookDeliveries
from services.generator.webhook_pruning import WebhookPruner
from services.generator.webhooks import WebhookHandler


@dataclass(frozen=True)
class Generator:
    settings: GeneratorSettings
    database: AsyncEngine
    repo: Repository
    providers: Providers
    engine: JobEngine
    webhooks: WebhookHandler
    listener: PgListener | None  # PostgreSQL: other replicas' changes reach watchers here
    pruner: WebhookPruner

    async def open(self, resources: Resources) -> None:
        """Closes run newest first: the pruner and listener stop, then the runners (their state
        stays for the next start), then clients and the database close."""
        # These exist since construction (none has connected yet): their closes come first.
        resources.on_close(self.database.dispose)
        resources.on_close(self.providers.fetcher.aclose)
        resources.on_close(self.providers.local.aclose)
        if self.providers.remote is not None:
            resources.on_close(self.providers.remote.aclose)
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
    """Builds every part in dependency order; opens nothing (see :meth:`Generator.open`)."""
    database = create_engine(database_url(settings.database_url, settings.data_dir, "generator"))
    repo = Repository(database, settings.generator_table_prefix)
    leases = process_leases(repo.leased_items, database, repo.writes.begin, settings.lease_ttl_s)
    broadcaster = Broadcaster[pb.Job]()
    publisher = SnapshotPublisher(repo, broadcaster)
    providers = _providers(settings)
    deps = RunnerDeps(
        settings=settings,
        repo=repo,
        providers=providers,
        throttles=Throttles(
            limits=ConcurrencyLimits(settings.max_parallel_items, settings.max_parallel_per_model),
            creates=RateLimiter(settings.replicate_creates_per_minute, 60.0),
        ),
        watches=PredictionWatches(),
        fence=leases,
        notify=publisher.notify,
    )
    engine = JobEngine(deps, leases, broadcaster, publisher)
    deliveries = WebhookDeliveries(repo.writes, repo.tables.webhooks)
    pruner = WebhookPruner(
        deliveries,
        retention_s=max(settings.webhook_retention_s, settings.webhook_tolerance_s),
        interval_s=settings.webhook_prune_interval_s,
    )
    return Generator(
        settings=settings,
        database=database,
        repo=repo,
        providers=providers,
        engine=engine,
        webhooks=WebhookHandler(settings, deliveries, engine),
        listener=_listener(database, repo, engine),
        pruner=pruner,
    )


def _providers(settings: GeneratorSettings) -> Providers:
    store = ArtifactStore(settings.artifacts_path)
    fetcher = OutputFetcher(store, settings.allow_networks, settings.download_max_bytes)
    remote = ReplicateProvider(settings, store) if settings.replicate_api_token else None
    if remote is not None:
        remote.prepare()  # built here, not inside the first burst of creates
    local = AnimaticProvider(settings, store, fetcher)
    return Providers(remote=remote, local=local, store=store, fetcher=fetcher)


def _listener(database: AsyncEngine, repo: Repository, engine: JobEngine) -> PgListener | None:
    """One LISTEN connection (PostgreSQL only): job changes and webhook wake-ups of every replica."""
    if database.dialect.name != "postgresql":
        return None
    handlers = {repo.changes_channel: engine.on_job_changed, repo.wake_channel: engine.on_wake}
    return PgListener(asyncpg_dsn(database.url), handlers, on_reconnect=engine.republish_watched)
