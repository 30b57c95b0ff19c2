"""Deterministic repair of a rule-breaking plan: scene count, roles, text, durations, then the script."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2, planner_pb2
from services.planner import scene_text
from services.planner.plan_rules import (
    CALL_TO_ACTION,
    FEATURE,
    FOCUS_AXES,
    HOOK,
    MAX_CAMERA_MOTION_CHARS,
    MAX_CAPTION_CHARS,
    PRODUCT_INTRO,
    fit_durations,
    role_range,
    scene_count_range,
)
from services.planner.providers.base import PlanRequest
from services.planner.script_rules import (
    MAX_CAPTION_WORDS,
    WORDS_PER_SECOND,
    first_words,
    says,
    spoken_call_to_action,
    voice_enabled,
    word_budget,
    word_count,
)

_UNSPECIFIED = common_pb2.SCENE_TYPE_UNSPECIFIED


@dataclass(frozen=True)
class RepairedPlan:
    scenes: list[common_pb2.Scene]
    repairs: list[planner_pb2.Repair]  # what was changed or filled in, field by field


def repair_plan(scenes: Sequence[common_pb2.Scene], request: PlanRequest) -> RepairedPlan:
    """A valid plan that keeps as much of ``scenes`` as the rules allow, and what changed."""
    repairs: list[planner_pb2.Repair] = []
    fitted = _fit_count([_copy(scene) for scene in scenes], request.total_s, repairs)
    assign_roles(fitted, repairs)
    _fill_text(fitted, request, repairs)
    weights = [_weight(scene, request.total_s, len(fitted)) for scene in fitted]
    durations = fit_durations(weights, request.total_s)
    if any(abs(s.duration_seconds - d) > 0.005 for s, d in zip(fitted, durations, strict=True)):
        repairs.append(
            _repair("plan.scenes[].duration_seconds", f"rescaled to fit {request.total_s:g} s")
        )
    for index, (scene, duration) in enumerate(zip(fitted, durations, strict=True)):
        scene.index = index
        scene.duration_seconds = duration
    fit_script(fitted, request, repairs)
    return RepairedPlan(fitted, repairs)


def fit_script(
    scenes: list[common_pb2.Scene], request: PlanRequest, repairs: list[planner_pb2.Repair]
) -> None:
    """Each voice line within its scene's word budget, the last one saying the call to action.

    Lines too long are cut, empty ones written from the brief; with ``voice: none`` all are
    empty. Durations must be final: the budgets follow them.
    """
    if not voice_enabled(request.brief):
        drop_voice(scenes)
        return
    messages = _feature_messages(scenes, request.brief)
    for position, scene in enumerate(scenes):
        closing = position == len(scenes) - 1
        fitted = _fitted_line(scene, closing, request.brief, messages[position])
        if fitted is not None:
            scene.voice_line, action = fitted
            repairs.append(_repair(f"plan.scenes[{position}].voice_line", action))


def drop_voice(scenes: Sequence[common_pb2.Scene]) -> None:
    """The brief wants no voice-over (``voice: none``)."""
    for scene in scenes:
        scene.voice_line = ""


def _fitted_line(
    scene: common_pb2.Scene, closing: bool, brief: common_pb2.CreativeBrief, message: str
) -> tuple[str, str] | None:
    """The scene's new line and why, or None when its line keeps to the rules."""
    budget = word_budget(scene.duration_seconds)
    scene_type = CALL_TO_ACTION if closing else scene.type
    line = scene.voice_line.strip()
    if not word_count(line):
        return scene_text.voice_line(scene_type, brief, budget, message), "written from the brief"
    shorter = first_words(line, budget)
    if closing and not says(shorter, spoken_call_to_action(brief, budget)):
        action = "rewritten to say the call to action"
        return scene_text.voice_line(scene_type, brief, budget), action
    if shorter != line:
        rate = f"{WORDS_PER_SECOND:g} words per second of {scene.duration_seconds:g} s"
        return shorter, f"cut to {budget} words ({rate})"
    return None


def _repair(field: str, action: str) -> planner_pb2.Repair:
    return planner_pb2.Repair(field=field, action=action)


def _fit_count(
    scenes: list[common_pb2.Scene], total_s: float, repairs: list[planner_pb2.Repair]
) -> list[common_pb2.Scene]:
    """Too many: keep the opening ones and the closing scene. Too few: add features before the close."""
    fewest, most = scene_count_range(total_s)
    given = len(scenes)
    if given > most:
        scenes = [*scenes[: most - 1], scenes[-1]]
        repairs.append(
            _repair(
                "plan.scenes", f"{given} scenes cut to {most}: the first {most - 1} and the last"
            )
        )
    while len(scenes) < fewest:
        scenes.insert(max(len(scenes) - 1, 0), common_pb2.Scene(type=_UNSPECIFIED))
    if given < fewest:
        repairs.append(
            _repair(
                "plan.scenes", f"{fewest - given} scene(s) added before the last ({given} given)"
            )
        )
    return scenes


def assign_roles(
    scenes: list[common_pb2.Scene], repairs: list[planner_pb2.Repair] | None = None
) -> None:
    """Unlabelled scenes get the role their position implies (open, reveal, features, close)."""
    last = len(scenes) - 1
    for position, scene in enumerate(scenes):
        if scene.type != _UNSPECIFIED:
            continue
        if position == 0:
            scene.type = HOOK
        elif position == last:
            scene.type = CALL_TO_ACTION
        elif position == 1:
            scene.type = PRODUCT_INTRO
        else:
            scene.type = FEATURE
        if repairs is not None:
            role = common_pb2.SceneType.Name(scene.type).removeprefix("SCENE_TYPE_").lower()
            repairs.append(_repair(f"plan.scenes[{position}].type", f"{role}, from its position"))


def _fill_text(
    scenes: list[common_pb2.Scene], request: PlanRequest, repairs: list[planner_pb2.Repair]
) -> None:
    messages = _feature_messages(scenes, request.brief)
    for position, scene in enumerate(scenes):
        if not scene.description.strip():
            scene.description = scene_text.description(
                scene.type, request.brief, messages[position]
            )
            repairs.append(
                _repair(f"plan.scenes[{position}].description", "written from the brief")
            )
        if not scene.style_prompt.strip():
            scene.style_prompt = scene_text.style_prompt(
                scene.description, request.brief, request.mood
            )
            repairs.append(
                _repair(f"plan.scenes[{position}].style_prompt", "written from the brief and mood")
            )
        _shorten(scene, position, repairs)


def _shorten(scene: common_pb2.Scene, position: int, repairs: list[planner_pb2.Repair]) -> None:
    """Text fields cut to their limits (voice lines to their word budgets later, in fit_script)."""
    for name, most in (
        ("description", MAX_TEXT_CHARS),
        ("style_prompt", MAX_TEXT_CHARS),
        ("caption", MAX_CAPTION_CHARS),
        ("camera_motion", MAX_CAMERA_MOTION_CHARS),
        ("voice_line", MAX_TEXT_CHARS),
    ):
        text: str = getattr(scene, name)
        if len(text) > most:
            setattr(scene, name, text[:most])
            repairs.append(
                _repair(f"plan.scenes[{position}].{name}", f"shortened to {most} characters")
            )
    if word_count(scene.caption) > MAX_CAPTION_WORDS:
        scene.caption = first_words(scene.caption, MAX_CAPTION_WORDS)
        repairs.append(
            _repair(f"plan.scenes[{position}].caption", f"cut to {MAX_CAPTION_WORDS} words")
        )


def _feature_messages(
    scenes: Sequence[common_pb2.Scene], brief: common_pb2.CreativeBrief
) -> list[str]:
    """Per scene, the key message a feature scene shows (in order); empty for the other roles."""
    messages = iter(m for m in brief.key_messages if m.strip())
    return [next(messages, "") if scene.type == FEATURE else "" for scene in scenes]


def _weight(scene: common_pb2.Scene, total_s: float, count: int) -> float:
    """The scene's own duration when usable, else the middle of its role's range."""
    if scene.duration_seconds > 0:
        return scene.duration_seconds
    if scene.type == FEATURE:
        return total_s / count
    low, high = role_range(scene.type, total_s)
    return (low + high) / 2


def clamp_focus(scenes: list[common_pb2.Scene], repairs: list[planner_pb2.Repair]) -> None:
    """A focus point off the picture is moved to its nearest edge (NaN: the centre)."""
    for index, scene in enumerate(scenes):
        for axis in FOCUS_AXES:
            at = getattr(scene, axis)
            if scene.HasField(axis) and not 0 <= at <= 1:
                setattr(scene, axis, 0.5 if math.isnan(at) else min(max(at, 0.0), 1.0))
                repairs.append(
                    _repair(f"plan.scenes[{index}].{axis}", f"moved into 0–1 (was {at:g})")
                )


def _copy(scene: common_pb2.Scene) -> common_pb2.Scene:
    copy = common_pb2.Scene()
    copy.CopyFrom(scene)
    return copy
