"""The planner against OpenAI-compatible servers as they really behave (issue 11, items 10, 12, 13).

Small local models (llama-cpp-python serving SmolLM2) are slow, write until their context
is full unless capped, overflow their context on long briefs, put raw control characters
in JSON strings and wrap JSON in code fences. Each test reproduces one of those with the
fake and checks what a caller of the planner sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from reelforge.v1 import planner_pb2
from services.planner.plan_rules import check_plan
from tests.fakes.openai_server import (
    FakeOpenAI,
    answer_fenced,
    answer_json,
    answer_text,
    answer_with_raw_control_characters,
    default_moods,
    default_plan,
    slow,
    stream_text,
)
from tests.planner.helpers import openai_settings, plan_scenes_error, planner_stub, sample_brief

_TIMEOUT_S = 10
# A model that never answers within any deadline used here.
_NEVER_S = 60
# A caller deadline long enough for the fake's quick answers on a loaded machine.
_SHORT_DEADLINE_S = 3.0


def _plan_request(duration_s: float = 30, **brief: Any) -> planner_pb2.PlanScenesRequest:
    return planner_pb2.PlanScenesRequest(brief=sample_brief(**brief), duration_seconds=duration_s)


def _moods_request(count: int = 3, **brief: Any) -> planner_pb2.GenerateMoodsRequest:
    return planner_pb2.GenerateMoodsRequest(brief=sample_brief(**brief), count=count)


def _long_brief() -> dict[str, Any]:
    """Valid (every text ≤ 2,000 characters) but ~22,000 characters: too long for a 2,048-token model."""
    return {
        "product_description": "A sparkling drink. " * 100,
        "key_messages": [f"Message {i}: " + "fresh taste, " * 150 for i in range(10)],
    }


def _labelled_plan(label: str, total_s: float = 30) -> dict[str, Any]:
    plan = default_plan(total_s)
    for index, scene in enumerate(plan["scenes"]):
        scene["description"] = f"{label} scene {index + 1}"
    return plan


# ---- item 10: completion caps and the caller's deadline -----------------------------------


async def test_every_call_caps_its_completion_tokens(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(stream_text("Who is it for?"))
    conversation = [planner_pb2.ChatMessage(content="An ad for Zing")]
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        async for _ in stub.Converse(
            planner_pb2.ConverseRequest(messages=conversation), timeout=_TIMEOUT_S
        ):
            pass
        await stub.ExtractBrief(
            planner_pb2.ExtractBriefRequest(messages=conversation), timeout=_TIMEOUT_S
        )
        await stub.GenerateMoods(_moods_request(), timeout=_TIMEOUT_S)
        await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    # Without a cap a small local model writes until its context is full (minutes on a CPU).
    assert [r.body.get("max_tokens") for r in fake_openai.requests] == [400, 600, 2000, 1600]
    assert fake_openai.rejected == []


async def test_the_cap_can_use_max_completion_tokens(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    settings = openai_settings(
        fake_openai,
        data_dir,
        openai_token_limit_param="max_completion_tokens",
        planner_max_tokens_plan=1200,
    )
    async with planner_stub(settings) as stub:
        await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    sent = fake_openai.requests[0].body
    assert sent["max_completion_tokens"] == 1200 and "max_tokens" not in sent


async def test_request_timeout_is_cut_to_the_callers_deadline(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    settings = openai_settings(fake_openai, data_dir, openai_timeout_s=120)
    async with planner_stub(settings) as stub:
        await stub.PlanScenes(_plan_request(), timeout=_SHORT_DEADLINE_S)
    # The openai client states each request's timeout in this header.
    assert float(fake_openai.requests[0].headers["x-stainless-read-timeout"]) < _SHORT_DEADLINE_S


async def test_a_slow_model_fails_with_our_deadline_error_not_the_transports(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(*[slow(_NEVER_S)] * 9)
    settings = openai_settings(fake_openai, data_dir, openai_timeout_s=120, openai_max_retries=2)
    async with planner_stub(settings) as stub:
        call = stub.GenerateMoods(_moods_request(), timeout=_SHORT_DEADLINE_S)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        status = await rpc_status.aio.from_call(call)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    details = caught.value.details() or ""
    assert "the caller's deadline" in details and "UPSTREAM_LLM_TIMEOUT_S" in details
    info = error_details_pb2.ErrorInfo()
    assert status is not None and any(d.Unpack(info) for d in status.details)
    assert info.reason == "PLANNER_DEADLINE"


async def test_without_a_deadline_the_call_budget_setting_bounds_the_call(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(*[slow(_NEVER_S)] * 3)
    settings = openai_settings(
        fake_openai, data_dir, openai_timeout_s=120, planner_call_budget_s=1.0
    )
    async with planner_stub(settings) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ExtractBrief(
                planner_pb2.ExtractBriefRequest(messages=[planner_pb2.ChatMessage(content="hi")])
            )  # no timeout: no gRPC deadline
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "PLANNER_CALL_BUDGET_S=1 s" in (caught.value.details() or "")


async def test_a_reask_that_runs_out_of_time_keeps_the_plan_already_parsed(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    first = _labelled_plan("first", 24)  # the wrong total for a 30-second plan
    fake_openai.enqueue(answer_json(first), slow(_NEVER_S))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_SHORT_DEADLINE_S)
    assert answer.repaired and answer.attempts == 2
    assert [s.description for s in answer.plan.scenes] == [
        s["description"] for s in first["scenes"]
    ]
    assert check_plan(answer.plan.scenes, 30) == []
    notes = [r.action for r in answer.repairs if r.field == "plan"]
    assert any("re-ask 2 failed" in n and "deadline" in n for n in notes), notes


# A first answer this slow leaves too little of this deadline for a re-ask (1.5x the slowest call).
_SLOW_FIRST_ANSWER_S = 2.0
_DEADLINE_FOR_ONE_CALL_S = 4.0


async def test_no_reask_is_started_that_cannot_finish_in_time(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(slow(_SLOW_FIRST_ANSWER_S, answer_json(_labelled_plan("only", 24))))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_DEADLINE_FOR_ONE_CALL_S)
    assert answer.repaired and answer.attempts == 1 and len(fake_openai.requests) == 1
    assert any("no re-ask" in r.action for r in answer.repairs)


# ---- item 12: context overflow --------------------------------------------------------------


async def test_context_overflow_is_invalid_argument_naming_the_brief_and_the_limit(
    data_dir: Path,
) -> None:
    async with (
        FakeOpenAI(context_window=2048) as fake,
        planner_stub(openai_settings(fake, data_dir)) as stub,
    ):
        call = stub.PlanScenes(_plan_request(**_long_brief()), timeout=_TIMEOUT_S)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        status = await rpc_status.aio.from_call(call)
        # A 400 about the prompt's length says nothing about json_schema support.
        after = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details() or ""
    assert "context window (2048 tokens)" in details
    assert "(the server said: This model's maximum context length is 2048 tokens." in details
    bad = error_details_pb2.BadRequest()
    assert status is not None and any(d.Unpack(bad) for d in status.details)
    assert [v.field for v in bad.field_violations] == ["brief"]
    assert check_plan(after.plan.scenes, 30) == []
    assert [r.format_type for r in fake.requests] == ["json_schema", "json_schema"]


async def test_context_overflow_on_moods_names_the_brief(data_dir: Path) -> None:
    async with (
        FakeOpenAI(context_window=2048) as fake,
        planner_stub(openai_settings(fake, data_dir)) as stub,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GenerateMoods(_moods_request(**_long_brief()), timeout=_TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "brief: too long for the model's context window" in (caught.value.details() or "")


# ---- item 13: lenient parsing, best plan kept, repairs reported -------------------------


async def test_raw_control_characters_in_json_strings_are_accepted(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    plan = _labelled_plan("line one\nline\ttwo")
    fake_openai.enqueue(answer_with_raw_control_characters(plan))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert (answer.attempts, answer.repaired) == (1, False)
    assert answer.plan.scenes[0].description == "line one\nline\ttwo scene 1"


async def test_fenced_json_after_prose_is_accepted(fake_openai: FakeOpenAI, data_dir: Path) -> None:
    fake_openai.enqueue(answer_fenced(default_moods(3)))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.GenerateMoods(_moods_request(), timeout=_TIMEOUT_S)
    assert [m.name for m in answer.moods] == ["Fake Mood 1", "Fake Mood 2", "Fake Mood 3"]
    assert len(fake_openai.requests) == 1 and list(answer.repairs) == []
    assert answer.provider == "openai"


async def test_failed_reasks_keep_the_best_plan_that_parsed(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    best = _labelled_plan("best", 28)  # one broken rule: the total
    worse = {"scenes": _labelled_plan("worse", 12)["scenes"][:3]}  # two: count and total
    fake_openai.enqueue(answer_json(best), answer_text("Sure! {scenes"), answer_json(worse))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert answer.repaired and answer.attempts == 3
    assert [s.description for s in answer.plan.scenes] == [s["description"] for s in best["scenes"]]
    assert len(answer.violations) == 1 and "28" in answer.violations[0]
    assert any("attempt 1" in r.action for r in answer.repairs if r.field == "plan")
    assert any(r.field == "plan.scenes[].duration_seconds" for r in answer.repairs)


async def test_moods_filled_in_from_the_offline_archetypes_are_reported(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    one = default_moods(1)
    one["moods"][0]["color_palette"] = ["not a colour"]
    fake_openai.enqueue(answer_json(one))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.GenerateMoods(_moods_request(3), timeout=_TIMEOUT_S)
    assert len(answer.moods) == 3 and answer.moods[0].name == "Fake Mood 1"
    by_field = {r.field: r.action for r in answer.repairs}
    assert set(by_field) == {"moods[0].color_palette", "moods[1]", "moods[2]"}
    assert "offline archetype" in by_field["moods[1]"]
    assert "the model gave 1 usable mood(s) of 3" in by_field["moods[2]"]


async def test_a_repaired_plan_lists_what_was_filled_in(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    plan = default_plan(30)
    plan["scenes"][2]["description"] = ""
    plan["scenes"] = plan["scenes"][:4]  # one too few
    fake_openai.enqueue(*[answer_json(plan)] * 3)
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    fields = [r.field for r in answer.repairs]
    assert "plan.scenes" in fields and "plan.scenes[2].description" in fields
    assert all(r.action for r in answer.repairs)


async def test_a_camera_motion_longer_than_the_generator_takes_is_shortened(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    # Found by the peer check: SmolLM2 wrote a 418-character camera_motion and the
    # generator refused the clip (its limit is 200), so `reelforge ad` failed.
    plan = default_plan(30)
    plan["scenes"][4]["camera_motion"] = "slow push in, then " * 22
    fake_openai.enqueue(*[answer_json(plan)] * 3)
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert "camera_motion is longer than 200" in answer.violations[0]
    assert len(answer.plan.scenes[4].camera_motion) == 200
    assert "plan.scenes[4].camera_motion" in [r.field for r in answer.repairs]


async def test_an_answer_cut_off_by_the_cap_says_which_setting_to_raise(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    settings = openai_settings(fake_openai, data_dir, planner_max_tokens_plan=50)
    caught = await plan_scenes_error(settings, _plan_request(), _TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "cut off at PLANNER_MAX_TOKENS_PLAN=50 tokens" in (caught.value.details() or "")
    followup = fake_openai.requests[1].body["messages"][-1]["content"]
    assert "PLANNER_MAX_TOKENS_PLAN" in followup


async def test_offline_moods_name_their_provider(data_dir: Path) -> None:
    from tests.planner.helpers import offline_settings

    async with planner_stub(offline_settings(data_dir)) as stub:
        answer = await stub.GenerateMoods(_moods_request(), timeout=_TIMEOUT_S)
    assert answer.provider == "offline" and list(answer.repairs) == []


def test_raw_control_character_helper_really_writes_invalid_strict_json() -> None:
    text = answer_with_raw_control_characters({"a": "x\ny"}).content or ""
    with pytest.raises(json.JSONDecodeError, match="Invalid control character"):
        json.loads(text)
