"""Captions, voice-over lines and media prompts: the planner writes them for every provider.

What a caller checks: each voice line fits its scene at 2.3 words per second (so the whole
script fits the ad), the closing line says the brief's call to action, ``voice: none``
silences the script, and the seed-image and music prompts come with the plan.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.validation import validate_scene_plan
from tests.fakes.openai_server import FakeOpenAI, answer_json, default_plan
from tests.planner.helpers import offline_settings, openai_settings, planner_stub, sample_brief

_TIMEOUT_S = 10
_WORDS_PER_SECOND = 2.3
_MOOD = common_pb2.Mood(
    id="neon-pulse",
    name="Neon Pulse",
    style_keywords=["neon", "urban night"],
    color_palette=["#FF2E88", "#00E5FF", "#0B0F2A"],
    aesthetic_direction="Lighting: neon rim light.",
)


def _words(text: str) -> int:
    return len(text.split())


def _most_words(seconds: float) -> int:
    return math.floor(_WORDS_PER_SECOND * seconds + 1e-9)


def _assert_script_fits(plan: common_pb2.ScenePlan, call_to_action: str) -> None:
    for scene in plan.scenes:
        assert scene.voice_line, f"scene {scene.index} says nothing"
        assert _words(scene.voice_line) <= _most_words(scene.duration_seconds), scene
        assert _words(scene.caption) <= 6, scene.caption
    script = sum(_words(s.voice_line) for s in plan.scenes)
    assert script <= _most_words(plan.total_duration_seconds)
    assert call_to_action.lower() in plan.scenes[-1].voice_line.lower()


def _plan_request(duration_s: float = 30, **brief: Any) -> planner_pb2.PlanScenesRequest:
    return planner_pb2.PlanScenesRequest(
        brief=sample_brief(**brief), mood=_MOOD, duration_seconds=duration_s
    )


def _old_cli_image_prompt(scene: common_pb2.Scene) -> str:
    """What `reelforge ad` sent for a seed image before the planner wrote the prompt."""
    style = ", ".join(_MOOD.style_keywords)
    return f"{scene.style_prompt}. {_MOOD.aesthetic_direction} Style: {style}. Vertical 9:16."


def _long_lines(total_s: float) -> dict[str, Any]:
    plan = default_plan(total_s)
    for scene in plan["scenes"]:
        scene["voice_line"] = "so many words here " * 10
    return plan


@pytest.mark.parametrize("duration_s", [12, 30, 120])
async def test_offline_plan_has_a_script_that_fits_and_its_prompts(
    data_dir: Path, duration_s: float
) -> None:
    async with planner_stub(offline_settings(data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(duration_s), timeout=_TIMEOUT_S)
    plan = answer.plan
    _assert_script_fits(plan, "Grab a can")
    assert [s.image_prompt for s in plan.scenes] == [_old_cli_image_prompt(s) for s in plan.scenes]
    assert plan.music_prompt == (
        "Instrumental background music, energetic, playful, neon, urban night"
    )
    assert (answer.repaired, list(answer.repairs)) == (False, [])


async def test_voice_none_leaves_every_line_empty(data_dir: Path) -> None:
    async with planner_stub(offline_settings(data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(voice="None"), timeout=_TIMEOUT_S)
    assert [s.voice_line for s in answer.plan.scenes] == [""] * len(answer.plan.scenes)
    assert all(s.caption and s.image_prompt for s in answer.plan.scenes)


async def test_model_plan_gets_its_lines_and_prompts_from_the_planner(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    # The fake's default plan has captions but no voice lines: the planner writes them.
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    plan = answer.plan
    _assert_script_fits(plan, "Grab a can")
    assert [s.image_prompt for s in plan.scenes] == [_old_cli_image_prompt(s) for s in plan.scenes]
    assert plan.music_prompt.startswith("Instrumental background music, energetic, playful")
    assert (answer.attempts, answer.repaired) == (1, False)
    filled = {r.field for r in answer.repairs if r.field.endswith(".voice_line")}
    assert filled == {f"plan.scenes[{i}].voice_line" for i in range(len(plan.scenes))}
    sent = fake_openai.requests[0]
    assert sent.schema is not None
    assert "voice_line" in sent.schema["properties"]["scenes"]["items"]["required"]
    assert "2.3 words per second" in sent.text and '"Grab a can"' in sent.text


async def test_over_long_lines_are_reasked_once_then_kept_when_fixed(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fixed = default_plan(30)
    for scene in fixed["scenes"]:
        scene["voice_line"] = "Short and sweet."
    fixed["scenes"][-1]["voice_line"] = "Grab a can!"
    fake_openai.enqueue(answer_json(_long_lines(30)), answer_json(fixed))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert (answer.attempts, answer.repaired, list(answer.repairs)) == (2, False, [])
    assert [s.voice_line for s in answer.plan.scenes][-2:] == ["Short and sweet.", "Grab a can!"]
    followup = fake_openai.requests[1].body["messages"][-1]["content"]
    assert "scene 1's voice_line has 40 words" in followup


async def test_over_long_lines_are_trimmed_when_reasks_do_not_help(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(*[answer_json(_long_lines(30))] * 3)
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert answer.repaired and answer.attempts == 3
    _assert_script_fits(answer.plan, "Grab a can")
    assert answer.plan.scenes[0].voice_line.startswith("so many words here")
    by_field = {r.field: r.action for r in answer.repairs}
    assert "words" in by_field["plan.scenes[0].voice_line"]
    assert "call to action" in by_field["plan.scenes[4].voice_line"]
    assert any("voice_line has 40 words" in v for v in answer.violations)


async def test_a_closing_line_without_the_call_to_action_is_fixed(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    plan = default_plan(30)
    plan["scenes"][-1]["voice_line"] = "See you soon."
    fake_openai.enqueue(*[answer_json(plan)] * 3)
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert answer.repaired
    assert any("call to action" in v for v in answer.violations)
    assert "grab a can" in answer.plan.scenes[-1].voice_line.lower()


async def test_voice_none_tells_the_model_and_drops_its_lines(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(answer_json(_long_lines(30)))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(voice="none"), timeout=_TIMEOUT_S)
    assert (answer.attempts, answer.repaired) == (1, False)
    assert [s.voice_line for s in answer.plan.scenes] == [""] * 5
    assert "leave every voice_line empty" in fake_openai.requests[0].text


def test_a_received_plan_with_a_line_too_long_for_its_scene_is_refused() -> None:
    plan = common_pb2.ScenePlan(
        scenes=[
            common_pb2.Scene(
                duration_seconds=4, voice_line="Nine words fit into four seconds, no more."
            ),
            common_pb2.Scene(
                duration_seconds=2, voice_line="Two seconds hold four words, not six."
            ),
        ],
        music_prompt="x" * 2001,
    )
    with pytest.raises(InvalidArgument) as caught:
        validate_scene_plan(plan, "plan")
    violations = {v.field: v.description for v in caught.value.violations}
    assert list(violations) == ["plan.scenes[1].voice_line", "plan.music_prompt"]
    assert "at most 4 words" in violations["plan.scenes[1].voice_line"]


@pytest.mark.parametrize(("said", "voice"), [("voice: off", "none"), ("voice-over: None", "none")])
async def test_a_conversation_can_turn_the_voice_off(data_dir: Path, said: str, voice: str) -> None:
    messages = [planner_pb2.ChatMessage(content=f"product: Zing\n{said}")]
    async with planner_stub(offline_settings(data_dir)) as stub:
        answer = await stub.ExtractBrief(
            planner_pb2.ExtractBriefRequest(messages=messages), timeout=_TIMEOUT_S
        )
    assert answer.brief.voice == voice
