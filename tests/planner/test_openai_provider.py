"""The real AsyncOpenAI client against the fake server, through a real planner gRPC server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from reelforge.v1 import planner_pb2
from services.planner import schemas
from services.planner.plan_rules import check_plan
from tests.fakes.openai_server import (
    FakeOpenAI,
    answer_json,
    answer_text,
    default_plan,
    http_error,
    refusal,
    slow,
    stream_text,
)
from tests.planner.helpers import (
    TEST_KEY,
    openai_settings,
    plan_scenes_error,
    planner_stub,
    sample_brief,
)

_TIMEOUT_S = 10


def _plan_request(duration_s: float = 30) -> planner_pb2.PlanScenesRequest:
    return planner_pb2.PlanScenesRequest(brief=sample_brief(), duration_seconds=duration_s)


def _bad_plan() -> dict[str, object]:
    """Three 4-second scenes: too few scenes and the wrong total (12 s)."""
    scenes = default_plan(20)["scenes"][:3]
    return {"scenes": scenes}


async def test_plan_request_carries_the_schema(fake_openai: FakeOpenAI, data_dir: Path) -> None:
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert (answer.attempts, answer.repaired, list(answer.violations)) == (1, False, [])
    assert check_plan(answer.plan.scenes, 30) == []
    sent = fake_openai.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert sent.body["model"] == "gpt-4o-mini"  # development tier default
    assert sent.format_type == "json_schema"
    assert sent.response_format["json_schema"]["name"] == schemas.PLAN_SCHEMA_NAME
    assert sent.response_format["json_schema"]["strict"] is True
    assert sent.schema == schemas.PLAN_SCHEMA
    assert '"total_duration_seconds": 30' in sent.text


async def test_rule_breaking_plan_is_reasked_then_repaired(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(*[answer_json(_bad_plan())] * 3)
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert answer.repaired and answer.attempts == 3
    assert any("3 scenes" in v for v in answer.violations)
    assert check_plan(answer.plan.scenes, 30) == []
    assert answer.plan.total_duration_seconds == pytest.approx(30)
    # Each re-ask carries the rejected answer and the rules it broke.
    followup = fake_openai.requests[1].body["messages"]
    assert followup[-2] == {"role": "assistant", "content": json.dumps(_bad_plan())}
    assert "the plan has 3 scenes" in followup[-1]["content"]
    assert "add up to 12 s" in followup[-1]["content"]
    assert len(fake_openai.requests[2].body["messages"]) == len(followup) + 2


async def test_a_reask_that_fixes_the_plan_is_not_repaired(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(answer_json(_bad_plan()))  # then the default, valid plan
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(_plan_request(45), timeout=_TIMEOUT_S)
    assert (answer.attempts, answer.repaired, list(answer.violations)) == (2, False, [])
    assert check_plan(answer.plan.scenes, 45) == []


async def test_429_and_500_are_retried_by_the_client_then_succeed(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(
        http_error(429, "slow down", retry_after_s=0.01),
        http_error(500, "boom", retry_after_s=0.01),
    )
    settings = openai_settings(fake_openai, data_dir, openai_max_retries=2)
    async with planner_stub(settings) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert check_plan(answer.plan.scenes, 30) == []
    assert [r.retry_count for r in fake_openai.requests] == [0, 1, 2]


async def test_429_after_retries_is_resource_exhausted_with_retry_info(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(http_error(429, "rate limited", retry_after_s=7))
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        call = stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        status = await rpc_status.aio.from_call(call)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = error_details_pb2.RetryInfo()
    assert status is not None and any(d.Unpack(retry) for d in status.details)
    assert retry.retry_delay.seconds == 7


def _wrong_key(fake: FakeOpenAI) -> None:
    fake.api_key = "the-right-key"


# A call that fails: how the fake fails it, settings, the status and what its message names.
_FAILED_CALLS = [
    pytest.param(
        _wrong_key, {}, grpc.StatusCode.UNAUTHENTICATED, "OPENAI_API_KEY",
        id="401_is_unauthenticated_naming_the_setting",
    ),
    pytest.param(
        lambda fake: fake.enqueue(refusal("I can't help with that request.")), {},
        grpc.StatusCode.FAILED_PRECONDITION, "I can't help with that request.",
        id="refusal_is_failed_precondition_with_its_text",
    ),
    pytest.param(
        lambda fake: fake.enqueue(slow(30)), {"openai_timeout_s": 0.2},
        grpc.StatusCode.DEADLINE_EXCEEDED, "OPENAI_TIMEOUT_S",
        id="slow_model_is_deadline_exceeded",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fail", "overrides", "code", "named"), _FAILED_CALLS)
async def test_a_failed_call_is_a_status_naming_its_cause(
    fake_openai: FakeOpenAI,
    data_dir: Path,
    fail: Callable[[FakeOpenAI], None],
    overrides: dict[str, Any],
    code: grpc.StatusCode,
    named: str,
) -> None:
    fail(fake_openai)
    settings = openai_settings(fake_openai, data_dir, **overrides)
    caught = await plan_scenes_error(settings, _plan_request(), _TIMEOUT_S)
    assert caught.value.code() == code
    assert named in (caught.value.details() or "")


async def test_malformed_json_after_reasks_is_internal_with_the_reason(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(*[answer_text("Sure! Here is your plan: {scenes")] * 3)
    error = (
        await plan_scenes_error(openai_settings(fake_openai, data_dir), _plan_request(), _TIMEOUT_S)
    ).value
    assert (error.code(), len(fake_openai.requests)) == (grpc.StatusCode.INTERNAL, 3)
    assert "not valid JSON" in (error.details() or "")


async def test_json_schema_rejection_falls_back_to_json_object(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake = fake_openai
    fake.reject_json_schema = True  # like llama-cpp-python: HTTP 500 for json_schema
    async with planner_stub(openai_settings(fake, data_dir)) as stub:
        first = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
        second = await stub.PlanScenes(_plan_request(20), timeout=_TIMEOUT_S)
    assert check_plan(first.plan.scenes, 30) == [] and check_plan(second.plan.scenes, 20) == []
    assert [r.format_type for r in fake.requests] == ["json_schema", "json_object", "json_object"]
    assert fake.requests[1].schema == schemas.PLAN_SCHEMA
    assert "JSON schema" in fake.requests[1].text  # JSON mode needs the prompt to ask for JSON


async def test_prompt_mode_sends_no_response_format(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    settings = openai_settings(fake_openai, data_dir, structured_output="prompt")
    async with planner_stub(settings) as stub:
        answer = await stub.PlanScenes(_plan_request(), timeout=_TIMEOUT_S)
    assert check_plan(answer.plan.scenes, 30) == []
    assert "response_format" not in fake_openai.requests[0].body
    assert '"scenes"' in fake_openai.requests[0].text


async def test_converse_streams_several_chunks(fake_openai: FakeOpenAI, data_dir: Path) -> None:
    fake_openai.enqueue(stream_text("Love it! ", "Who is ", "the ad ", "for?"))
    request = planner_pb2.ConverseRequest(
        messages=[planner_pb2.ChatMessage(role=planner_pb2.ROLE_USER, content="An ad for Zing")]
    )
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        replies = [r async for r in stub.Converse(request, timeout=_TIMEOUT_S)]
    assert [r.delta for r in replies[:-1]] == ["Love it! ", "Who is ", "the ad ", "for?"]
    assert replies[-1].done and not any(r.done for r in replies[:-1])
    sent = fake_openai.requests[0].body
    assert sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][-1] == {"role": "user", "content": "An ad for Zing"}


async def test_moods_are_normalised_to_the_requested_count(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        default = await stub.GenerateMoods(
            planner_pb2.GenerateMoodsRequest(brief=sample_brief()), timeout=_TIMEOUT_S
        )
        five = await stub.GenerateMoods(
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(), count=5), timeout=_TIMEOUT_S
        )
    assert len(default.moods) == 3 and len(five.moods) == 5
    assert len({m.id for m in five.moods}) == 5
    assert fake_openai.requests[0].response_format["json_schema"]["name"] == "mood_directions"
    assert all(len(m.image_prompts) == 1 for m in default.moods)  # draft tier: one image


async def test_extracted_brief_keeps_unknown_fields_empty(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    partial = {**{k: "" for k in ("target_audience", "call_to_action")}}
    fake_openai.enqueue(
        answer_json(
            {
                "product_name": "Zing",
                "product_description": "An energy drink",
                "tone": "playful",
                "visual_style_keywords": [],
                "key_messages": [],
                "duration_seconds": 0,
                **partial,
            }
        )
    )
    request = planner_pb2.ExtractBriefRequest(
        messages=[planner_pb2.ChatMessage(content="A playful ad for Zing, an energy drink")]
    )
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.ExtractBrief(request, timeout=_TIMEOUT_S)
    assert answer.brief.product_name == "Zing" and not answer.complete
    assert [m.field for m in answer.missing] == ["target_audience", "call_to_action"]
    assert all(m.question for m in answer.missing)


async def test_converse_errors_reach_the_stream_as_status(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.api_key = "the-right-key"
    request = planner_pb2.ConverseRequest(messages=[planner_pb2.ChatMessage(content="hi")])
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stub.Converse(request, timeout=_TIMEOUT_S):
                pass
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unparseable_moods_are_reasked_with_the_problem(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    fake_openai.enqueue(answer_text('{"moods": "none"}'))  # then the default, valid moods
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.GenerateMoods(
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(), count=2), timeout=_TIMEOUT_S
        )
    assert [m.name for m in answer.moods] == ["Fake Mood 1", "Fake Mood 2"]
    followup = fake_openai.requests[1].body["messages"][-1]["content"]
    assert "does not match the schema" in followup and "moods" in followup
