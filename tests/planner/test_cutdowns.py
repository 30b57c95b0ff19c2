"""The cut-down rule: hook first, product and call to action kept, exact lengths, only trims."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelforge.v1 import common_pb2
from services.planner.cutdowns import MIN_CUT_SCENE_S, CutdownError, CutScene, cutdown
from services.planner.plan_rules import CALL_TO_ACTION, FEATURE, HOOK, PRODUCT_INTRO
from services.planner.providers.base import PlanRequest
from services.planner.providers.offline import offline_plan


def _scenes(*shape: tuple[common_pb2.SceneType.ValueType, float]) -> list[common_pb2.Scene]:
    return [
        common_pb2.Scene(index=i, type=kind, duration_seconds=seconds)
        for i, (kind, seconds) in enumerate(shape)
    ]


def test_a_six_second_cut_is_hook_product_and_call_to_action_in_proportion() -> None:
    scenes = _scenes((HOOK, 3), (PRODUCT_INTRO, 5), (FEATURE, 4), (FEATURE, 4), (CALL_TO_ACTION, 4))
    assert cutdown(scenes, 6) == [CutScene(0, 1.5), CutScene(1, 2.5), CutScene(4, 2.0)]


def test_a_fifteen_second_cut_adds_features_in_order_until_it_is_filled() -> None:
    scenes = _scenes((HOOK, 3), (PRODUCT_INTRO, 5), (FEATURE, 4), (FEATURE, 4), (CALL_TO_ACTION, 4))
    cut = cutdown(scenes, 15)
    # hook + product + call to action last 12 s: the first feature makes 16 s, shrunk to 15.
    assert [c.index for c in cut] == [0, 1, 2, 4]
    assert [c.duration_s for c in cut] == [2.81, 4.69, 3.75, 3.75]


def test_the_product_is_the_product_intro_scene_wherever_it_is() -> None:
    scenes = _scenes((HOOK, 4), (FEATURE, 4), (PRODUCT_INTRO, 4), (FEATURE, 4), (CALL_TO_ACTION, 4))
    assert [c.index for c in cutdown(scenes, 6)] == [0, 2, 4]


@pytest.mark.parametrize("length", [6, 15])
def test_an_ad_not_longer_than_the_cut_is_refused(length: int) -> None:
    scenes = _scenes(*[(FEATURE, length / 5)] * 5)
    with pytest.raises(CutdownError, match=f"longer than {length} s"):
        cutdown(scenes, length)


@settings(max_examples=150, deadline=None)
@given(
    total=st.floats(min_value=16, max_value=120).map(lambda t: round(t, 2)),
    length=st.sampled_from([6, 15]),
    key_messages=st.integers(min_value=0, max_value=3),
)
def test_every_offline_plan_cuts_to_exact_lengths_that_only_trim(
    total: float, length: int, key_messages: int
) -> None:
    brief = common_pb2.CreativeBrief(
        product_name="Lumen", key_messages=[f"message {i}" for i in range(key_messages)]
    )
    scenes = offline_plan(PlanRequest(brief, None, total))
    cut = cutdown(scenes, length)
    indexes = [c.index for c in cut]
    assert indexes[0] == 0 and indexes[-1] == len(scenes) - 1  # hook first, call to action last
    assert indexes == sorted(set(indexes))
    assert any(scenes[i].type == PRODUCT_INTRO for i in indexes)
    assert round(sum(c.duration_s for c in cut) * 100) == length * 100
    for c in cut:
        assert MIN_CUT_SCENE_S <= c.duration_s <= scenes[c.index].duration_seconds
        assert c.duration_s == round(c.duration_s, 2)  # whole hundredths


def test_the_same_storyboard_cuts_the_same_way() -> None:
    scenes = offline_plan(PlanRequest(common_pb2.CreativeBrief(product_name="Lumen"), None, 30))
    assert cutdown(scenes, 15) == cutdown(list(scenes), 15)
    with pytest.raises(CutdownError):
        cutdown(scenes, 30)
