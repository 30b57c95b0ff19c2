"""The studio's composition root: its parts, built in dependency order, opening nothing.

What opens when, and what closes in which order, is :class:`StoredWork`'s (docs/ARCHITECTURE.md);
the channels to the other services are a part the work needs, opened after the schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.database import service_engine
from reelforge.runtime.leases import process_leases
from reelforge.runtime.lifecycle import Part, StoredWork
from reelforge.runtime.pg_notify import changes_listener
from services.studio.children import Children
from services.studio.estimate import Estimator
from services.studio.manager import AdManager
from services.studio.repository import CHANGES_CHANNEL, LEASED, AdRepository
from services.studio.settings import StudioSettings


@dataclass(frozen=True)
class Studio:
    """The parts the servicer calls (the estimator quotes before a run), and the lifecycle."""

    repository: AdRepository
    manager: AdManager
    estimator: Estimator
    lifecycle: StoredWork


def build_studio(settings: StudioSettings) -> Studio:
    database = service_engine(settings, "studio")
    repository = AdRepository(database)
    children = Children(settings)
    leases = process_leases(LEASED, database, repository.write_transaction, settings.lease_ttl_s)
    manager = AdManager(repository, children, leases)
    listener = changes_listener(
        database, {CHANGES_CHANNEL: manager.on_changed}, manager.republish_watched
    )
    channels = Part(children.open, children.close)
    lifecycle = StoredWork(database, repository.create_schema, manager, listener, parts=[channels])
    return Studio(repository, manager, Estimator(children), lifecycle)
