"""Property tests: every offline plan and every repaired plan satisfies the rules, 6–120 s."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelforge.v1 import common_pb2
from services.planner.plan_repair import repair_plan
from services.planner.plan_rules import (
    check_plan,
    fit_durations,
    scene_bounds,
    scene_count_range,
)
from services.planner.providers.base import PlanRequest
from services.planner.providers.offline import offline_plan
from services.planner.script_rules import check_script, voice_enabled, word_count

_text = st.text(max_size=300)
_durations = st.floats(min_value=6, max_value=120, allow_nan=False).map(lambda d: round(d, 2))
_briefs = st.builds(
    common_pb2.CreativeBrief,
    product_name=_text,
    product_description=_text,
    target_audience=_text,
    tone=_text,
    visual_style_keywords=st.lists(_text, max_size=5),
    key_messages=st.lists(_text, max_size=10),
    call_to_action=_text,
    voice=st.sampled_from(["", "none", " None ", "alloy"]),
)
_scenes = st.lists(
    st.builds(
        common_pb2.Scene,
        type=st.sampled_from(list(common_pb2.SceneType.values())),
        duration_seconds=st.floats(allow_nan=True, allow_infinity=True, width=32),
        description=st.text(max_size=50),
        style_prompt=st.text(max_size=50),
        caption=st.text(max_size=250),
        voice_line=st.text(max_size=400),
    ),
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(brief=_briefs, total=_durations)
def test_every_offline_plan_is_valid(brief: common_pb2.CreativeBrief, total: float) -> None:
    scenes = offline_plan(PlanRequest(brief, None, total))
    assert check_plan(scenes, total) == [] and check_script(scenes, brief) == []
    _assert_script_fits(scenes, brief, total)
    assert scenes[0].type == common_pb2.SCENE_TYPE_HOOK
    assert scenes[-1].type == common_pb2.SCENE_TYPE_CALL_TO_ACTION


@settings(max_examples=100, deadline=None)
@given(scenes=_scenes, brief=_briefs, total=_durations)
def test_every_repaired_plan_is_valid(
    scenes: list[common_pb2.Scene], brief: common_pb2.CreativeBrief, total: float
) -> None:
    repaired = repair_plan(scenes, PlanRequest(brief, None, total)).scenes
    assert check_plan(repaired, total) == [] and check_script(repaired, brief) == []
    assert [s.index for s in repaired] == list(range(len(repaired)))
    _assert_script_fits(repaired, brief, total)


def _assert_script_fits(
    scenes: list[common_pb2.Scene], brief: common_pb2.CreativeBrief, total: float
) -> None:
    """Every scene speaks (unless the brief says voice: none) and the script fits the ad."""
    if voice_enabled(brief):
        assert all(word_count(s.voice_line) > 0 for s in scenes)
    else:
        assert all(s.voice_line == "" for s in scenes)
    assert sum(word_count(s.voice_line) for s in scenes) <= math.floor(2.3 * total + 1e-6)


@settings(max_examples=100, deadline=None)
@given(total=_durations, data=st.data())
def test_fit_durations_hits_the_total_in_hundredths(total: float, data: st.DataObject) -> None:
    fewest, most = scene_count_range(total)
    count = data.draw(st.integers(fewest, most))
    weights = data.draw(st.lists(st.floats(0, 1000), min_size=count, max_size=count))
    durations = fit_durations(weights, total)
    bounds = scene_bounds(total)
    assert round(sum(durations), 2) == pytest.approx(total, abs=0.005)
    assert all(bounds.low <= d <= bounds.high for d in durations)
    assert all(round(d * 100) == pytest.approx(d * 100) for d in durations)


@pytest.mark.parametrize(
    ("total", "low", "high", "most_scenes"),
    [
        (6, 1.0, 10, 6),
        (10, 1.66, 10, 6),
        (14, 2, 10, 7),
        (30, 2, 10, 7),
        (60, 2, 12, 7),
        (120, 2, 24, 7),
    ],
)
def test_scene_bounds_follow_the_documented_rule(
    total: float, low: float, high: float, most_scenes: int
) -> None:
    assert scene_bounds(total) == (scene_bounds(total).__class__(low, high))
    assert scene_count_range(total) == (5, most_scenes)


def test_check_plan_names_each_broken_rule() -> None:
    scenes = [common_pb2.Scene(duration_seconds=12, description="x", style_prompt="")] * 4
    problems = check_plan(scenes, 30)
    assert problems[0] == "the plan has 4 scenes; it must have 5 to 7"
    assert "scene 1 lasts 12 s; each scene must last 2 to 10 s" in problems
    assert "scene 1 has an empty style_prompt" in problems
    assert problems[-1] == "the scene durations add up to 48 s; they must add up to exactly 30 s"


def test_check_plan_counts_the_words_of_lines_and_captions() -> None:
    scene = common_pb2.Scene(
        duration_seconds=4,
        description="x",
        style_prompt="x",
        caption="one two three four five six seven",
        voice_line="Eleven words — that is two more than four seconds hold, sadly.",
    )
    problems = check_plan([scene] * 5, 20)
    assert "scene 1's caption has 7 words; it must have at most 6" in problems
    assert (
        "scene 1's voice_line has 11 words; a 4 s scene fits at most 9 (2.3 words per second)"
        in problems
    )
