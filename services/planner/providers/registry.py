"""Picks the planner provider the settings ask for (PLANNER_PROVIDER, or auto by OPENAI_API_KEY)."""

from __future__ import annotations

import logging

from services.planner.providers.base import PlannerProvider
from services.planner.providers.offline import OfflineProvider
from services.planner.settings import PlannerSettings

_LOGGER = logging.getLogger(__name__)


def build_provider(settings: PlannerSettings) -> PlannerProvider:
    if settings.provider == "openai":
        # Imported here: the openai package and its hundreds of pydantic types cost ≈ 1 CPU-s
        # at every start (on a loaded 2-core machine), which an offline planner never needs.
        from services.planner.providers.openai_provider import OpenAIProvider

        _LOGGER.info(
            "planner provider: openai (model %s, %s)", settings.model, settings.structured_output
        )
        return OpenAIProvider(settings)
    _LOGGER.info("planner provider: offline")
    return OfflineProvider()
