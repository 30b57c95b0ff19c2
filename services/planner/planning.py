"""The planner's use cases over any provider: rules are checked here, whichever provider answered."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from reelforge.runtime.errors import DomainError, Internal
from reelforge.v1 import common_pb2, planner_pb2
from services.planner import scene_text
from services.planner.brief_rules import missing_fields, sanitize_brief
from services.planner.budget import Budget
from services.planner.mood_rules import normalize_moods
from services.planner.plan_repair import (
    assign_roles,
    clamp_focus,
    drop_voice,
    fit_script,
    repair_plan,
)
from services.planner.plan_rules import check_plan
from services.planner.providers.base import ChatTurn, Correction, PlannerProvider, PlanRequest
from services.planner.script_rules import check_script, voice_enabled
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
    repairs: list[planner_pb2.Repair] = field(default_factory=list)
    music_prompt: str = ""


@dataclass(frozen=True)
class MoodsOutcome:
    moods: list[common_pb2.Mood]
    repairs: list[planner_pb2.Repair]


@dataclass(frozen=True)
class BriefOutcome:
    brief: common_pb2.CreativeBrief
    missing: list[planner_pb2.MissingField]


@dataclass(frozen=True)
class _Candidate:
    """A plan answer that parsed, the rules it broke, and which attempt gave it."""

    scenes: list[common_pb2.Scene]
    problems: list[str]
    attempt: int


class Planner:
    """Runs each planner step on a provider and holds the provider's answers to the rules."""

    def __init__(self, provider: PlannerProvider, settings: PlannerSettings) -> None:
        self.provider = provider
        self.settings = settings

    def converse(self, turns: Sequence[ChatTurn], budget: Budget) -> AsyncIterator[str]:
        return self.provider.converse(turns, budget)

    async def extract_brief(self, turns: Sequence[ChatTurn], budget: Budget) -> BriefOutcome:
        brief = sanitize_brief(await self.provider.extract_brief(turns, budget))
        return BriefOutcome(brief, missing_fields(brief))

    async def generate_moods(
        self, brief: common_pb2.CreativeBrief, count: int, budget: Budget
    ) -> MoodsOutcome:
        wanted = count or DEFAULT_MOOD_COUNT
        images = self.settings.mood_image_count
        moods = await self.provider.generate_moods(brief, wanted, images, budget)
        return MoodsOutcome(*normalize_moods(moods, brief, wanted, images))

    async def plan_scenes(
        self,
        brief: common_pb2.CreativeBrief,
        mood: common_pb2.Mood | None,
        duration_s: float,
        budget: Budget,
    ) -> PlanOutcome:
        """Asks, re-asks with the broken rules stated (PLANNER_MAX_REASKS), then repairs.

        Re-asks are improvements: one that fails (a timeout, an unparseable answer, the
        deadline) never loses the best plan that already parsed; it is repaired instead.
        """
        total = duration_s or brief.duration_seconds or DEFAULT_DURATION_S
        request = PlanRequest(brief, mood, total)
        corrections: list[Correction] = []
        best: _Candidate | None = None
        notes: list[planner_pb2.Repair] = []
        problems: list[str] = []
        attempts = 0
        while attempts <= self.settings.planner_max_reasks:
            if best is not None and not budget.affords_another_call():
                notes.append(_note(f"no re-ask: too little time left within {budget.source}"))
                break
            attempts += 1
            try:
                answer = await self.provider.plan_scenes(request, corrections, budget)
            except DomainError as error:
                if best is None:
                    raise
                notes.append(_note(f"re-ask {attempts} failed: {error.message}"))
                break
            if answer.scenes is None:
                problems = [answer.problem]
            else:
                problems = _problems(answer.scenes, request)
                if not problems:
                    fills: list[planner_pb2.Repair] = []
                    scenes = _completed(answer.scenes, request, fills)
                    return _outcome(scenes, request, False, attempts, [], fills)
                if best is None or len(problems) <= len(best.problems):
                    best = _Candidate(answer.scenes, problems, attempts)
            _LOGGER.info("plan attempt %d broke %d rule(s): %s", attempts, len(problems), problems)
            corrections.append(Correction(answer.raw, tuple(problems)))
        if best is None:
            raise Internal(
                f"the model never returned a usable plan in {attempts} attempts: {problems[0]}",
                reason="MALFORMED_MODEL_ANSWER",
            )
        if best.attempt != attempts:
            notes.append(_note(f"kept the plan of attempt {best.attempt} (fewest broken rules)"))
        repaired = repair_plan(best.scenes, request)
        repairs = [*notes, *repaired.repairs]
        return _outcome(repaired.scenes, request, True, attempts, best.problems, repairs)


def _note(action: str) -> planner_pb2.Repair:
    return planner_pb2.Repair(field="plan", action=action)


def _problems(scenes: list[common_pb2.Scene], request: PlanRequest) -> list[str]:
    """The rules a model's plan breaks, after dropping its voice lines if the brief wants none."""
    if not voice_enabled(request.brief):
        drop_voice(scenes)
    return [*check_plan(scenes, request.total_s), *check_script(scenes, request.brief)]


def _completed(
    scenes: list[common_pb2.Scene], request: PlanRequest, repairs: list[planner_pb2.Repair]
) -> list[common_pb2.Scene]:
    """A valid plan's roles, indexes and missing voice lines filled in."""
    assign_roles(scenes, repairs)
    for index, scene in enumerate(scenes):
        scene.index = index
    fit_script(scenes, request, repairs)
    return scenes


def _outcome(
    scenes: list[common_pb2.Scene],
    request: PlanRequest,
    repaired: bool,
    attempts: int,
    violations: list[str],
    repairs: list[planner_pb2.Repair],
) -> PlanOutcome:
    """The plan with the prompts the planner writes itself, so they always match the plan,
    and every focus point on the picture."""
    clamp_focus(scenes, repairs)
    for scene in scenes:
        scene.image_prompt = scene_text.image_prompt(scene, request.brief, request.mood)
    music = scene_text.music_prompt(request.brief, request.mood)
    return PlanOutcome(scenes, repaired, attempts, violations, repairs, music)
