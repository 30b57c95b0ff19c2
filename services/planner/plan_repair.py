"""Deterministic repair of a rule-breaking plan: scene count, roles, text, then durations."""

from __future__ import annotations

from collections.abc import Sequence

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2
from services.planner import scene_text
from services.planner.plan_rules import (
    CALL_TO_ACTION,
    FEATURE,
    HOOK,
    MAX_CAPTION_CHARS,
    PRODUCT_INTRO,
    fit_durations,
    role_range,
    scene_count_range,
)
from services.planner.providers.base import PlanRequest

_UNSPECIFIED = common_pb2.SCENE_TYPE_UNSPECIFIED


def repair_plan(scenes: Sequence[common_pb2.Scene], request: PlanRequest) -> list[common_pb2.Scene]:
    """A valid plan that keeps as much of ``scenes`` as the rules allow."""
    fitted = _fit_count([_copy(scene) for scene in scenes], request.total_s)
    assign_roles(fitted)
    _fill_text(fitted, request)
    weights = [_weight(scene, request.total_s, len(fitted)) for scene in fitted]
    for index, (scene, duration) in enumerate(
        zip(fitted, fit_durations(weights, request.total_s), strict=True)
    ):
        scene.index = index
        scene.duration_seconds = duration
    return fitted


def _fit_count(scenes: list[common_pb2.Scene], total_s: float) -> list[common_pb2.Scene]:
    """Too many: keep the opening ones and the closing scene. Too few: add features before the close."""
    fewest, most = scene_count_range(total_s)
    if len(scenes) > most:
        scenes = [*scenes[: most - 1], scenes[-1]]
    while len(scenes) < fewest:
        scenes.insert(max(len(scenes) - 1, 0), common_pb2.Scene(type=_UNSPECIFIED))
    return scenes


def assign_roles(scenes: list[common_pb2.Scene]) -> None:
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


def _fill_text(scenes: list[common_pb2.Scene], request: PlanRequest) -> None:
    messages = [m for m in request.brief.key_messages if m.strip()]
    feature_number = 0
    for scene in scenes:
        message = ""
        if scene.type == FEATURE:
            message = messages[feature_number] if feature_number < len(messages) else ""
            feature_number += 1
        if not scene.description.strip():
            scene.description = scene_text.description(scene.type, request.brief, message)
        if not scene.style_prompt.strip():
            scene.style_prompt = scene_text.style_prompt(
                scene.description, request.brief, request.mood
            )
        scene.description = scene.description[:MAX_TEXT_CHARS]
        scene.style_prompt = scene.style_prompt[:MAX_TEXT_CHARS]
        scene.caption = scene.caption[:MAX_CAPTION_CHARS]
        scene.camera_motion = scene.camera_motion[:MAX_TEXT_CHARS]


def _weight(scene: common_pb2.Scene, total_s: float, count: int) -> float:
    """The scene's own duration when usable, else the middle of its role's range."""
    if scene.duration_seconds > 0:
        return scene.duration_seconds
    if scene.type == FEATURE:
        return total_s / count
    low, high = role_range(scene.type, total_s)
    return (low + high) / 2


def _copy(scene: common_pb2.Scene) -> common_pb2.Scene:
    copy = common_pb2.Scene()
    copy.CopyFrom(scene)
    return copy
