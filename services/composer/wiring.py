"""The composer's composition root: its parts, built in dependency order, opening nothing.

What opens when, and what closes in which order, is :class:`StoredWork`'s (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.database import service_engine
from reelforge.runtime.downloads import guarded_session
from reelforge.runtime.leases import process_leases
from reelforge.runtime.lifecycle import StoredWork
from reelforge.runtime.pg_notify import changes_listener
from services.composer.inputs import Fetcher
from services.composer.manager import CompositionManager
from services.composer.preparer import Preparer
from services.composer.renderer import RenderContext
from services.composer.repository import CompositionRepository
from services.composer.segment_cache import segment_cache
from services.composer.settings import ComposerSettings


@dataclass(frozen=True)
class Composer:
    """The parts the servicer calls (its store checks inputs), and the lifecycle."""

    repository: CompositionRepository
    store: ArtifactStore
    manager: CompositionManager
    preparer: Preparer  # PrepareSegments: pieces encoded as clips land
    lifecycle: StoredWork


def build_composer(settings: ComposerSettings) -> Composer:
    database = service_engine(settings, "composer")
    repository = CompositionRepository(database, settings.composer_table_prefix)
    store = ArtifactStore(settings.artifacts_path)
    context = _render_context(settings, store)
    leases = process_leases(
        repository.tables.leased, database, repository.write_transaction, settings.lease_ttl_s
    )
    work_root = settings.data_dir / "composer-work"
    manager = CompositionManager(
        repository,
        context,
        leases=leases,
        work_root=work_root,
        max_concurrent=settings.max_concurrent_renders,
        progress_interval_s=settings.progress_interval_s,
    )
    changes = manager.replica_changes
    listener = changes_listener(
        database, {repository.tables.changes_channel: changes.on_changed}, changes.republish_watched
    )
    clients = [context.fetcher.session.close]
    lifecycle = StoredWork(database, repository.create_schema, manager, listener, clients)
    return Composer(repository, store, manager, Preparer(context, work_root), lifecycle)


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
        segments=segment_cache(settings),
        segment_jobs=settings.segment_jobs,
    )
