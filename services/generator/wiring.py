"""The generator's composition root: its parts, built in dependency order, opening nothing.

What opens when, and what closes in which order, is :class:`StoredWork`'s (docs/ARCHITECTURE.md);
unfinished items resume once the server serves, each looking its prediction up first.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.events import Broadcaster
from reelforge.runtime.lifecycle import Cleanup, StoredWork, service_store
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
    """The parts the servicer calls (webhooks included), and the lifecycle."""

    settings: GeneratorSettings
    repo: Repository
    providers: Providers
    engine: JobEngine
    webhooks: WebhookHandler
    lifecycle: StoredWork


def build_generator(settings: GeneratorSettings) -> Generator:
    """Builds every part in dependency order; opens nothing."""
    providers = _providers(settings)
    prefix = settings.generator_table_prefix
    store = service_store(settings, "generator", lambda db: Repository(db, prefix))
    repo, leases = store.repository, store.leases
    broadcaster = Broadcaster[pb.Job]()
    publisher = SnapshotPublisher(repo, broadcaster, settings.model_catalog)
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
    # One LISTEN connection (PostgreSQL): job changes and webhook wake-ups of every replica.
    changes = {repo.changes_channel: engine.on_job_changed, repo.wake_channel: engine.on_wake}
    lifecycle = store.stored_work(
        engine, changes, engine.republish_watched, clients=_closes(providers), loops=[pruner]
    )
    webhooks = WebhookHandler(settings, deliveries, engine)
    return Generator(settings, repo, providers, engine, webhooks, lifecycle)


def _providers(settings: GeneratorSettings) -> Providers:
    store = ArtifactStore(settings.artifacts_path)
    fetcher = OutputFetcher(store, settings.allow_networks, settings.download_max_bytes)
    remote = ReplicateProvider(settings, store) if settings.replicate_api_token else None
    if remote is not None:
        remote.prepare()  # built here, not inside the first burst of creates
    local = AnimaticProvider(settings, store, fetcher)
    return Providers(remote=remote, local=local, store=store, fetcher=fetcher)


def _closes(providers: Providers) -> list[Cleanup]:
    closes: list[Cleanup] = [providers.fetcher.aclose, providers.local.aclose]
    if providers.remote is not None:
        closes.append(providers.remote.aclose)
    return closes
