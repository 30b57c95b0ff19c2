"""Builds the composer gRPC server: `create_server(settings) -> (host, port)`."""

from __future__ import annotations

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.downloads import guarded_session
from reelforge.runtime.leases import Leases, process_owner_id
from reelforge.runtime.pg_notify import PgListener, asyncpg_dsn
from reelforge.runtime.server import ServiceHost, build_host
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.inputs import Fetcher
from services.composer.manager import CompositionManager
from services.composer.renderer import RenderContext
from services.composer.repository import CHANGES_CHANNEL, LEASED, CompositionRepository
from services.composer.servicer import ComposerServicer
from services.composer.settings import ComposerSettings

SERVICE_NAME = composer_pb2.DESCRIPTOR.services_by_name["ComposerService"].full_name


def _render_context(settings: ComposerSettings, store: ArtifactStore) -> RenderContext:
    fetcher = Fetcher(
        store=store,
        session=guarded_session(settings.allow_networks, settings.download_timeout_s),
        allow=settings.allow_networks,
        max_bytes=settings.download_max_bytes,
        attempts=settings.download_attempts,
    )
    return RenderContext(
        fetcher=fetcher,
        store=store,
        environment=settings.environment,
        timeout_s=settings.render_timeout_s,
        threads=settings.ffmpeg_threads,
    )


async def create_server(settings: ComposerSettings) -> tuple[ServiceHost, int]:
    """Opens the database (schema at start-up), resumes interrupted renders, binds the port."""
    engine = create_engine(database_url(settings.database_url, settings.data_dir, "composer"))
    repository = CompositionRepository(engine)
    await repository.create_schema()
    store = ArtifactStore(settings.artifacts_path)
    context = _render_context(settings, store)
    leases = Leases(
        LEASED,
        owner=process_owner_id(),
        ttl_s=settings.lease_ttl_s,
        write=repository.write_transaction,
        exclusive=engine.dialect.name == "sqlite",
    )
    manager = CompositionManager(
        repository,
        context,
        leases=leases,
        work_root=settings.data_dir / "composer-work",
        max_concurrent=settings.max_concurrent_renders,
        progress_interval_s=settings.progress_interval_s,
    )
    servicer = ComposerServicer(repository, manager, store)
    host, port = await build_host(
        settings,
        [lambda server: composer_pb2_grpc.add_ComposerServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
    )
    # Cleanups run newest first: renders stop, then the HTTP session, then the database.
    host.add_cleanup(engine.dispose)
    host.add_cleanup(context.fetcher.session.close)
    host.add_cleanup(manager.shutdown)
    if engine.dialect.name == "postgresql":
        # Other replicas' changes reach watchers here (one LISTEN connection per process).
        listener = PgListener(
            asyncpg_dsn(engine.url),
            {CHANGES_CHANNEL: manager.on_changed},
            on_reconnect=manager.republish_watched,
        )
        await listener.start()
        host.add_cleanup(listener.aclose)
    await manager.resume_interrupted()
    return host, port
