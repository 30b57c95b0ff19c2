"""The studio's composition root: builds its parts from settings, in order, opening nothing.

Resources open in :meth:`Studio.open` (called by the host at start), each close registered as
it opens; interrupted ads resume in :meth:`Studio.resume` once the server serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.leases import process_leases
from reelforge.runtime.pg_notify import PgListener, asyncpg_dsn
from reelforge.runtime.server import Resources
from services.studio.children import Children
from services.studio.estimate import Estimator
from services.studio.manager import AdManager
from services.studio.repository import CHANGES_CHANNEL, LEASED, AdRepository
from services.studio.settings import StudioSettings


@dataclass(frozen=True)
class Studio:
    """Everything the servicer needs, and the service's part in the host's lifecycle."""

    database: AsyncEngine
    repository: AdRepository
    children: Children
    manager: AdManager
    estimator: Estimator
    listener: PgListener | None  # PostgreSQL: other replicas' changes reach watchers here

    async def open(self, resources: Resources) -> None:
        resources.on_close(self.database.dispose)
        await self.repository.create_schema()
        await self.children.open()
        resources.on_close(self.children.close)
        # Runs stop before the channels and the database close (closes run newest first).
        resources.on_close(self.manager.shutdown)
        if self.listener is not None:
            await self.listener.start()
            resources.on_close(self.listener.aclose)

    async def resume(self) -> None:
        await self.manager.resume_interrupted()


def build_studio(settings: StudioSettings) -> Studio:
    database = create_engine(database_url(settings.database_url, settings.data_dir, "studio"))
    repository = AdRepository(database)
    children = Children(settings)
    leases = process_leases(LEASED, database, repository.write_transaction, settings.lease_ttl_s)
    manager = AdManager(repository, children, leases)
    listener = None
    if database.dialect.name == "postgresql":
        listener = PgListener(
            asyncpg_dsn(database.url),
            {CHANGES_CHANNEL: manager.on_changed},
            on_reconnect=manager.republish_watched,
        )
    return Studio(database, repository, children, manager, Estimator(children), listener)
