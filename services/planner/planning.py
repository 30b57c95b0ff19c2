"""The planner's use cases over any provider: rules are checked here, whichever provider answered."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from reelforge.runtime.errors import Internal
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.brief_rules import missing_fields, sanitize_brief
from services.planner.mood_rules import normalize_moods
from services.planner.plan_repair import assign_roles, repair_plan
from services.planner.plan_rules import check_plan
from services.planner.providers.base import ChatTurn, Correction, PlannerProvider, PlanRequest
from services.planner.settings import PlannerSettings

_LOGGER = logging.getLogger(__name__)
DEFAULT_MOOD_COUNT = 3
DEFAULT_DURATION_S = 30.0


@dataclass(frozen=True)
class PlanOutcome:
    """A valid plan and how it came about."""

    scenes: list[common_pb2.Scene]
    repaired: bool
    attempts: int
    violations: list[str]


@dataclass(frozen=True)
class BriefOutcome:
    brief: common_pb2.CreativeBrief
    missing: list[planner_pb2.MissingField]


class Planner:
    """Runs each planner step on a provider and holds the provider's answers to the rules."""

    def __init__(self, provider: PlannerProvider, settings: PlannerSettings) -> None:
        self.provider = provider
        self._settings = settings

    def converse(self, turns: Sequence[ChatTurn]) -> AsyncIterator[str]:
        return self.provider.converse(turns)

    async def extract_brief(self, turns: Sequence[ChatTurn]) -> BriefOutcome:
        brief = sanitize_brief(await self.provider.extract_brief(turns))
        return BriefOutcome(brief, missing_fields(brief))

    async def generate_moods(
        self, brief: common_pb2.CreativeBrief, count: int
    ) -> list[common_pb2.Mood]:
        wanted = count or DEFAULT_MOOD_COUNT
        images = self._settings.mood_image_count
        moods = await self.provider.generate_moods(brief, wanted, images)
        return normalize_moods(moods, brief, wanted, images)

    async def plan_scenes(
        self, brief: common_pb2.CreativeBrief, mood: common_pb2.Mood | None, duration_s: float
    ) -> PlanOutcome:
        """Asks, re-asks with the broken rules stated (PLANNER_MAX_REASKS), then repairs."""
        total = duration_s or brief.duration_seconds or DEFAULT_DURATION_S
        request = PlanRequest(brief, mood, total)
        corrections: list[Correction] = []
        usable: list[common_pb2.Scene] | None = None
        for attempt in range(1, self._settings.planner_max_reasks + 2):
            answer = await self.provider.plan_scenes(request, corrections)
            if answer.scenes is None:
                problems = [answer.problem]
            else:
                usable = answer.scenes
                problems = check_plan(answer.scenes, total)
                if not problems:
                    return PlanOutcome(_indexed(answer.scenes), False, attempt, [])
            _LOGGER.info("plan attempt %d broke %d rule(s): %s", attempt, len(problems), problems)
            corrections.append(Correction(answer.raw, tuple(problems)))
        if usable is None:
            raise Internal(
                f"the model never returned a usable plan in {attempt} attempts: {problems[0]}",
                reason="MALFORMED_MODEL_ANSWER",
            )
        # The latest plan that parsed is repaired; violations report the last answer's problems.
        return PlanOutcome(repair_plan(usable, request), True, attempt, problems)


def _indexed(scenes: list[common_pb2.Scene]) -> list[common_pb2.Scene]:
    assign_roles(scenes)
    for index, scene in enumerate(scenes):
        scene.index = index
    return scenes
