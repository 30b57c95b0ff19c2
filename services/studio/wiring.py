"""The studio's composition root: its parts, built in dependency order, opening nothing.

What opens when, and what closes in which order, is :class:`StoredWork`'s (docs/ARCHITECTURE.md);
the channels to the other services are a part the work needs, opened after the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reelforge.runtime.lifecycle import Part, StoredWork, service_store
from reelforge.runtime.net_guard import IPNetwork
from services.studio.children import Children
from services.studio.estimate import Estimator
from services.studio.manager import AdManager
from services.studio.repository import AdRepository
from services.studio.settings import StudioSettings


@dataclass(frozen=True)
class Studio:
    """The parts the servicer calls (the estimator quotes before a run), and the lifecycle."""

    repository: AdRepository
    manager: AdManager
    estimator: Estimator
    allow_networks: Sequence[IPNetwork]  # what a brief's URLs may reach although private
    lifecycle: StoredWork


def build_studio(settings: StudioSettings) -> Studio:
    store = service_store(settings, "studio", AdRepository)
    children = Children(settings)
    manager = AdManager(store.repository, children, store.leases)
    replicas = manager.replica_changes
    changes = {store.repository.changes_channel: replicas.on_changed}
    channels = Part(children.open, children.close)
    lifecycle = store.stored_work(manager, changes, replicas.republish_watched, parts=[channels])
    estimator = Estimator(children)
    return Studio(store.repository, manager, estimator, settings.allow_networks, lifecycle)
