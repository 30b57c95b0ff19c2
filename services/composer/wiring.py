"""The composer's composition root: its parts, built in dependency order, opening nothing.

What opens when, and what closes in which order, is :class:`StoredWork`'s (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.downloads import guarded_session
from reelforge.runtime.lifecycle import StoredWork, service_store
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
    files = ArtifactStore(settings.artifacts_path)
    context = _render_context(settings, files)
    prefix = settings.composer_table_prefix
    store = service_store(settings, "composer", lambda db: CompositionRepository(db, prefix))
    repository = store.repository
    work_root = settings.data_dir / "composer-work"
    manager = CompositionManager(
        repository,
        context,
        leases=store.leases,
        work_root=work_root,
        max_concurrent=settings.max_concurrent_renders,
        progress_interval_s=settings.progress_interval_s,
    )
    replicas = manager.replica_changes
    changes = {repository.tables.changes_channel: replicas.on_changed}
    clients = [context.fetcher.session.close]
    lifecycle = store.stored_work(manager, changes, replicas.republish_watched, clients=clients)
    return Composer(repository, files, manager, Preparer(context, work_root), lifecycle)


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
