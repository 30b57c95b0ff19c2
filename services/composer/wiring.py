"""The composer's composition root: builds its parts from settings, in order, opening nothing.

Resources open in :meth:`Composer.open` (called by the host at start), each close registered
as it opens; interrupted renders resume in :meth:`Composer.resume` once the server serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.downloads import guarded_session
from reelforge.runtime.leases import process_leases
from reelforge.runtime.pg_notify import PgListener, asyncpg_dsn
from reelforge.runtime.server import Resources
from services.composer.inputs import Fetcher
from services.composer.manager import CompositionManager
from services.composer.renderer import RenderContext
from services.composer.repository import CompositionRepository
from services.composer.settings import ComposerSettings


@dataclass(frozen=True)
class Composer:
    """Everything the servicer needs, and the service's part in the host's lifecycle."""

    database: AsyncEngine
    repository: CompositionRepository
    store: ArtifactStore
    context: RenderContext
    manager: CompositionManager
    listener: PgListener | None  # PostgreSQL: other replicas' changes reach watchers here

    async def open(self, resources: Resources) -> None:
        # Both exist since construction (neither has connected yet): their closes come first.
        resources.on_close(self.database.dispose)
        resources.on_close(self.context.fetcher.session.close)
        await self.repository.create_schema()
        # Renders stop before the HTTP session and the database close (closes run newest first).
        resources.on_close(self.manager.shutdown)
        if self.listener is not None:
            await self.listener.start()
            resources.on_close(self.listener.aclose)

    async def resume(self) -> None:
        await self.manager.resume_interrupted()


def build_composer(settings: ComposerSettings) -> Composer:
    database = create_engine(database_url(settings.database_url, settings.data_dir, "composer"))
    repository = CompositionRepository(database, settings.composer_table_prefix)
    store = ArtifactStore(settings.artifacts_path)
    context = _render_context(settings, store)
    leases = process_leases(
        repository.tables.leased, database, repository.write_transaction, settings.lease_ttl_s
    )
    manager = CompositionManager(
        repository,
        context,
        leases=leases,
        work_root=settings.data_dir / "composer-work",
        max_concurrent=settings.max_concurrent_renders,
        progress_interval_s=settings.progress_interval_s,
    )
    listener = None
    if database.dialect.name == "postgresql":
        listener = PgListener(
            asyncpg_dsn(database.url),
            {repository.tables.changes_channel: manager.on_changed},
            on_reconnect=manager.republish_watched,
        )
    return Composer(database, repository, store, context, manager, listener)


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
