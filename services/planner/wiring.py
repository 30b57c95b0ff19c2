"""The planner's composition root: builds its parts from settings, in order, opening nothing.

The planner holds no durable work: ``open`` registers the provider's client close, ``resume``
has nothing to continue.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.server import Resources
from services.planner.planning import Planner
from services.planner.providers.base import PlannerProvider
from services.planner.providers.registry import build_provider
from services.planner.settings import PlannerSettings


@dataclass(frozen=True)
class PlannerService:
    """Everything the servicer needs, and the service's part in the host's lifecycle."""

    planner: Planner

    async def open(self, resources: Resources) -> None:
        resources.on_close(self.planner.provider.aclose)

    async def resume(self) -> None:
        return None


def build_planner(
    settings: PlannerSettings, provider: PlannerProvider | None = None
) -> PlannerService:
    """``provider`` replaces the one the settings name (tests pass fakes and failing ones)."""
    return PlannerService(Planner(provider or build_provider(settings), settings))
