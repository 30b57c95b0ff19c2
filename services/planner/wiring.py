"""The planner's composition root: its parts, built from settings, opening nothing.

The planner holds no durable work: its lifecycle only closes the provider's client.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.lifecycle import ClientsOnly
from services.planner.planning import Planner
from services.planner.providers.base import PlannerProvider
from services.planner.providers.registry import build_provider
from services.planner.settings import PlannerSettings


@dataclass(frozen=True)
class PlannerService:
    """What the servicer needs, and the service's part in the host's start and stop."""

    planner: Planner
    lifecycle: ClientsOnly


def build_planner(
    settings: PlannerSettings, provider: PlannerProvider | None = None
) -> PlannerService:
    """``provider`` replaces the one the settings name (tests pass fakes and failing ones)."""
    planner = Planner(provider or build_provider(settings), settings)
    return PlannerService(planner, ClientsOnly([planner.provider.aclose]))
