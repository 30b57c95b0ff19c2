"""The offline provider through a real planner server: deterministic, distinct moods, sound plans."""

from __future__ import annotations

import re
from pathlib import Path

from reelforge.v1 import common_pb2, planner_pb2
from services.planner.plan_rules import check_plan
from services.planner.prompts import BRIEF_COMPLETE, MISSING_FIELD_QUESTIONS
from tests.planner.helpers import offline_settings, planner_stub, sample_brief

_TIMEOUT_S = 10
_HEX = re.compile(r"^#[0-9A-F]{6}$")


def _user(text: str) -> planner_pb2.ChatMessage:
    return planner_pb2.ChatMessage(role=planner_pb2.ROLE_USER, content=text)


async def test_same_brief_gives_identical_output_twice(data_dir: Path) -> None:
    moods_request = planner_pb2.GenerateMoodsRequest(brief=sample_brief())
    plan_request = planner_pb2.PlanScenesRequest(brief=sample_brief(), duration_seconds=30)
    answers = []
    for _ in range(2):
        async with planner_stub(offline_settings(data_dir)) as stub:
            moods = await stub.GenerateMoods(moods_request, timeout=_TIMEOUT_S)
            plan = await stub.PlanScenes(plan_request, timeout=_TIMEOUT_S)
        answers.append((moods.SerializeToString(), plan.SerializeToString()))
    assert answers[0] == answers[1]


async def test_three_distinct_moods_follow_the_brief(data_dir: Path) -> None:
    async with planner_stub(offline_settings(data_dir)) as stub:
        answer = await stub.GenerateMoods(
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(tone="calm, natural")),
            timeout=_TIMEOUT_S,
        )
    moods = list(answer.moods)
    assert len(moods) == 3
    assert len({m.name for m in moods}) == 3 and len({m.id for m in moods}) == 3
    assert len({tuple(m.color_palette) for m in moods}) == 3
    assert moods[0].name == "Organic Calm"  # the best fit to "calm, natural" comes first
    for mood in moods:
        assert 3 <= len(mood.style_keywords) <= 8
        assert 3 <= len(mood.color_palette) <= 6 and all(_HEX.match(c) for c in mood.color_palette)
        assert mood.description and mood.aesthetic_direction
        assert len(mood.image_prompts) == 1 and "Zing" in mood.image_prompts[0]


async def test_production_tier_writes_four_image_prompts_and_six_moods(data_dir: Path) -> None:
    settings = offline_settings(data_dir, environment="production")
    async with planner_stub(settings) as stub:
        answer = await stub.GenerateMoods(
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(), count=6), timeout=_TIMEOUT_S
        )
    assert len(answer.moods) == 6 and len({m.name for m in answer.moods}) == 6
    assert all(len(m.image_prompts) == 4 for m in answer.moods)


async def test_plan_follows_the_ad_structure(data_dir: Path) -> None:
    mood = common_pb2.Mood(id="neon-pulse", name="Neon Pulse", color_palette=["#FF2E88"])
    request = planner_pb2.PlanScenesRequest(brief=sample_brief(), mood=mood)
    async with planner_stub(offline_settings(data_dir)) as stub:
        answer = await stub.PlanScenes(request, timeout=_TIMEOUT_S)
    scenes = list(answer.plan.scenes)
    assert [s.type for s in scenes] == [
        common_pb2.SCENE_TYPE_HOOK,
        common_pb2.SCENE_TYPE_PRODUCT_INTRO,
        *[common_pb2.SCENE_TYPE_FEATURE] * 3,  # one per key message
        common_pb2.SCENE_TYPE_CALL_TO_ACTION,
    ]
    assert check_plan(scenes, 30) == [] and answer.plan.total_duration_seconds == 30
    assert 3 <= scenes[0].duration_seconds <= 4 and 4 <= scenes[1].duration_seconds <= 6
    assert 4 <= scenes[-1].duration_seconds <= 6
    assert (answer.attempts, answer.repaired, answer.plan.mood_id) == (1, False, "neon-pulse")
    assert scenes[-1].caption == "Grab a can" and all(s.camera_motion for s in scenes)
    assert "No sugar crash" in scenes[2].description and "#FF2E88" in scenes[2].style_prompt


async def test_duration_defaults_to_the_brief_then_30(data_dir: Path) -> None:
    async with planner_stub(offline_settings(data_dir)) as stub:
        from_brief = await stub.PlanScenes(
            planner_pb2.PlanScenesRequest(brief=sample_brief(duration_seconds=15)),
            timeout=_TIMEOUT_S,
        )
        default = await stub.PlanScenes(
            planner_pb2.PlanScenesRequest(brief=sample_brief()), timeout=_TIMEOUT_S
        )
    assert from_brief.plan.total_duration_seconds == 15
    assert default.plan.total_duration_seconds == 30


async def test_converse_asks_for_the_first_missing_field_in_chunks(data_dir: Path) -> None:
    request = planner_pb2.ConverseRequest(messages=[_user("product: Zing\nabout: an energy drink")])
    async with planner_stub(offline_settings(data_dir)) as stub:
        replies = [r async for r in stub.Converse(request, timeout=_TIMEOUT_S)]
    assert len(replies) > 3 and replies[-1].done
    assert "".join(r.delta for r in replies) == MISSING_FIELD_QUESTIONS["target_audience"]


async def test_extract_brief_reads_labelled_lines_and_phrases(data_dir: Path) -> None:
    messages = [
        _user("I want a 20-second ad for an energy drink called Zing."),
        planner_pb2.ChatMessage(role=planner_pb2.ROLE_ASSISTANT, content="product: ignored"),
        _user(
            "about: sparkling, no sugar\naudience: students\ntone: energetic\n"
            "style: neon, urban\nkey messages: no crash; real fruit"
        ),
    ]
    async with planner_stub(offline_settings(data_dir)) as stub:
        partial = await stub.ExtractBrief(
            planner_pb2.ExtractBriefRequest(messages=messages), timeout=_TIMEOUT_S
        )
        complete = await stub.ExtractBrief(
            planner_pb2.ExtractBriefRequest(messages=[*messages, _user("cta: Grab a can")]),
            timeout=_TIMEOUT_S,
        )
        closing = [
            r.delta
            async for r in stub.Converse(
                planner_pb2.ConverseRequest(messages=[*messages, _user("cta: Grab a can")]),
                timeout=_TIMEOUT_S,
            )
        ]
    brief = partial.brief
    assert (brief.product_name, brief.target_audience, brief.duration_seconds) == (
        "Zing",
        "students",
        20,
    )
    assert list(brief.visual_style_keywords) == ["neon", "urban"]
    assert list(brief.key_messages) == ["no crash", "real fruit"]
    assert [m.field for m in partial.missing] == ["call_to_action"] and not partial.complete
    assert complete.complete and complete.brief.call_to_action == "Grab a can"
    assert "".join(closing) == BRIEF_COMPLETE
