"""The rules every scene plan must satisfy, their check, and exact-sum durations.

Scene bounds depend on the total length T so that a 5-scene plan always fits:
each scene lasts at least min(2, T/6) and at most max(10, T/5) seconds (both
rounded to the hundredth, inwards). Durations are kept in whole hundredths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2
from services.planner.script_rules import (
    MAX_CAPTION_WORDS,
    WORDS_PER_SECOND,
    word_budget,
    word_count,
)

MIN_SCENES = 5
MAX_SCENES = 7
MAX_CAPTION_CHARS = 200
# The generator takes a clip's camera motion only up to this (services/generator/validation.py).
MAX_CAMERA_MOTION_CHARS = 200
SUM_TOLERANCE_S = 0.01
REFERENCE_TOTAL_S = 30.0  # the role ranges below are stated for a 30-second ad

HOOK = common_pb2.SCENE_TYPE_HOOK
PRODUCT_INTRO = common_pb2.SCENE_TYPE_PRODUCT_INTRO
FEATURE = common_pb2.SCENE_TYPE_FEATURE
CALL_TO_ACTION = common_pb2.SCENE_TYPE_CALL_TO_ACTION

# Role ranges at 30 s; they scale with T and are clamped into the scene bounds.
_ROLE_RANGES_30S: dict[int, tuple[float, float]] = {
    HOOK: (3.0, 4.0),
    PRODUCT_INTRO: (4.0, 6.0),
    CALL_TO_ACTION: (4.0, 6.0),
}
# Float noise allowance when comparing durations to bounds.
_EPS = 1e-6


@dataclass(frozen=True)
class Bounds:
    """Shortest and longest allowed scene, seconds."""

    low: float
    high: float


def scene_bounds(total_s: float) -> Bounds:
    """Per-scene bounds for a plan of ``total_s`` seconds (see the module docstring)."""
    low = math.floor(min(2.0, total_s / 6) * 100 + _EPS) / 100
    high = math.ceil(max(10.0, total_s / 5) * 100 - _EPS) / 100
    return Bounds(low, high)


def role_range(scene_type: int, total_s: float) -> tuple[float, float]:
    """Target range of a hook, product intro or call to action for this total (features: bounds)."""
    bounds = scene_bounds(total_s)
    if scene_type not in _ROLE_RANGES_30S:
        return bounds.low, bounds.high
    scale = total_s / REFERENCE_TOTAL_S
    low, high = (v * scale for v in _ROLE_RANGES_30S[scene_type])
    return _clamp(low, bounds), _clamp(high, bounds)


def scene_count_range(total_s: float) -> tuple[int, int]:
    """How many scenes can fit the bounds: always includes 5; 7 only from about 14 s."""
    bounds = scene_bounds(total_s)
    most = min(MAX_SCENES, _cents(total_s) // _cents(bounds.low))
    return MIN_SCENES, max(MIN_SCENES, int(most))


# A scene's focus point (Scene.focus_x/y): fractions of its frame, 0–1; unset is the centre.
# A model's point off the picture is not worth a re-ask: plan_repair.clamp_focus moves it.
FOCUS_AXES: Final = ("focus_x", "focus_y")


def check_plan(scenes: Sequence[common_pb2.Scene], total_s: float) -> list[str]:
    """Every rule the plan breaks, worded so a model can fix it; empty when the plan is valid."""
    problems: list[str] = []
    if not MIN_SCENES <= len(scenes) <= MAX_SCENES:
        problems.append(
            f"the plan has {len(scenes)} scenes; it must have {MIN_SCENES} to {MAX_SCENES}"
        )
    bounds = scene_bounds(total_s)
    for number, scene in enumerate(scenes, start=1):
        problems.extend(_scene_problems(number, scene, bounds))
    total = sum(scene.duration_seconds for scene in scenes)
    if not abs(total - total_s) <= SUM_TOLERANCE_S + _EPS:
        problems.append(
            f"the scene durations add up to {total:g} s; they must add up to exactly {total_s:g} s"
        )
    return problems


def _scene_problems(number: int, scene: common_pb2.Scene, bounds: Bounds) -> list[str]:
    problems: list[str] = []
    duration = scene.duration_seconds
    if not (bounds.low - _EPS <= duration <= bounds.high + _EPS):
        problems.append(
            f"scene {number} lasts {duration:g} s; each scene must last "
            f"{bounds.low:g} to {bounds.high:g} s"
        )
    for name in ("description", "style_prompt"):
        text: str = getattr(scene, name)
        if not text.strip():
            problems.append(f"scene {number} has an empty {name}")
        elif len(text) > MAX_TEXT_CHARS:
            problems.append(f"scene {number}'s {name} is longer than {MAX_TEXT_CHARS} characters")
    if len(scene.voice_line) > MAX_TEXT_CHARS:
        problems.append(f"scene {number}'s voice_line is longer than {MAX_TEXT_CHARS} characters")
    if len(scene.caption) > MAX_CAPTION_CHARS:
        problems.append(f"scene {number}'s caption is longer than {MAX_CAPTION_CHARS} characters")
    elif (words := word_count(scene.caption)) > MAX_CAPTION_WORDS:
        problems.append(
            f"scene {number}'s caption has {words} words; it must have at most {MAX_CAPTION_WORDS}"
        )
    budget = word_budget(duration)
    if (words := word_count(scene.voice_line)) > budget:
        problems.append(
            f"scene {number}'s voice_line has {words} words; a {duration:g} s scene fits at most "
            f"{budget} ({WORDS_PER_SECOND:g} words per second)"
        )
    if len(scene.camera_motion) > MAX_CAMERA_MOTION_CHARS:
        problems.append(
            f"scene {number}'s camera_motion is longer than {MAX_CAMERA_MOTION_CHARS} characters"
        )
    return problems


def fit_durations(weights: Sequence[float], total_s: float) -> list[float]:
    """Durations proportional to ``weights`` within the bounds, in hundredths, summing to the total.

    Needs a feasible count (see ``scene_count_range``); non-positive weights count as 1.
    """
    bounds = scene_bounds(total_s)
    low, high, target = _cents(bounds.low), _cents(bounds.high), _cents(total_s)
    clean = [w if math.isfinite(w) and w > 0 else 1.0 for w in weights]
    shares = _clamped_shares(clean, float(target), float(low), float(high))
    cents = [min(high, max(low, math.floor(s))) for s in shares]
    # Hand out the rounding remainder one hundredth at a time, largest fraction first.
    order = sorted(range(len(cents)), key=lambda i: cents[i] - shares[i])
    remainder = target - sum(cents)
    while remainder != 0:
        step = 1 if remainder > 0 else -1
        before = remainder
        for i in order if step > 0 else reversed(order):
            if remainder != 0 and low <= cents[i] + step <= high:
                cents[i] += step
                remainder -= step
        if remainder == before:
            raise ValueError(f"{len(cents)} scenes cannot fill {total_s:g} s within the bounds")
    return [c / 100 for c in cents]


def _clamped_shares(weights: list[float], target: float, low: float, high: float) -> list[float]:
    """Proportional shares of ``target``; shares outside [low, high] are pinned and the rest re-split."""
    pinned: dict[int, float] = {}
    for _ in range(len(weights) + 1):
        free = [i for i in range(len(weights)) if i not in pinned]
        left = target - sum(pinned.values())
        weight_sum = sum(weights[i] for i in free) or 1.0
        shares = {i: left * weights[i] / weight_sum for i in free}
        out_of_bounds = {
            i: min(high, max(low, s)) for i, s in shares.items() if not low <= s <= high
        }
        if not out_of_bounds:
            return [pinned.get(i, shares.get(i, 0.0)) for i in range(len(weights))]
        pinned.update(out_of_bounds)
    return [pinned.get(i, low) for i in range(len(weights))]


def _cents(seconds: float) -> int:
    return round(seconds * 100)


def _clamp(value: float, bounds: Bounds) -> float:
    return min(bounds.high, max(bounds.low, value))
