"""Bad planner input → INVALID_ARGUMENT with BadRequest field violations naming each field."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.validation import (
    validate_conversation,
    validate_generate_moods,
    validate_plan_scenes,
)
from tests.grpc_helpers import field_violations
from tests.planner.helpers import offline_settings, planner_stub, sample_brief

_LONG = "x" * 2001


def _fields(error: InvalidArgument) -> list[str]:
    return [v.field for v in error.violations]


async def test_bad_plan_request_names_every_field_over_grpc(data_dir: Path) -> None:
    request = planner_pb2.PlanScenesRequest(
        brief=sample_brief(tone=_LONG, key_messages=["ok", _LONG]),
        duration_seconds=5,
        mood=common_pb2.Mood(color_palette=["#FFFFFF", "red"]),
    )
    async with planner_stub(offline_settings(data_dir)) as stub:
        violations = await field_violations(stub.PlanScenes(request, timeout=10))
    assert list(violations) == [
        "brief.tone",
        "brief.key_messages[1]",
        "duration_seconds",
        "mood.color_palette[1]",
    ]
    assert "2000" in violations["brief.tone"]


async def test_bad_conversation_is_refused_before_streaming(data_dir: Path) -> None:
    messages = [planner_pb2.ChatMessage(content="hi")] * 3
    messages.append(planner_pb2.ChatMessage(content=_LONG))
    async with planner_stub(offline_settings(data_dir)) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stub.Converse(
                planner_pb2.ConverseRequest(messages=messages), timeout=10
            ):
                pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "messages[3].content" in (caught.value.details() or "")


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ([planner_pb2.ChatMessage(content="hi")] * 51, "messages"),
        ([planner_pb2.ChatMessage(role=9, content="hi")], "messages[0].role"),  # type: ignore[arg-type]
    ],
)
def test_conversation_limits(messages: list[planner_pb2.ChatMessage], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_conversation(messages)
    assert _fields(caught.value) == [field]


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (planner_pb2.GenerateMoodsRequest(brief=sample_brief(), count=7), ["count"]),
        (planner_pb2.GenerateMoodsRequest(brief=sample_brief(), count=-1), ["count"]),
        (planner_pb2.GenerateMoodsRequest(count=3), ["brief"]),
        (
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(product_name=" ")),
            ["brief.product_name"],
        ),
        (
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(duration_seconds=121)),
            ["brief.duration_seconds"],
        ),
        (
            planner_pb2.GenerateMoodsRequest(brief=sample_brief(key_messages=["m"] * 11)),
            ["brief.key_messages"],
        ),
        (planner_pb2.GenerateMoodsRequest(brief=sample_brief(voice=_LONG)), ["brief.voice"]),
    ],
)
def test_mood_request_limits(request_: planner_pb2.GenerateMoodsRequest, fields: list[str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_generate_moods(request_)
    assert _fields(caught.value) == fields


@pytest.mark.parametrize("duration", [0, 6, 30, 120])
def test_durations_in_range_or_zero_are_accepted(duration: float) -> None:
    validate_plan_scenes(
        planner_pb2.PlanScenesRequest(brief=sample_brief(), duration_seconds=duration)
    )


@pytest.mark.parametrize("duration", [5.99, 120.5, -1, float("nan")])
def test_durations_out_of_range_are_refused(duration: float) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_plan_scenes(
            planner_pb2.PlanScenesRequest(brief=sample_brief(), duration_seconds=duration)
        )
    assert _fields(caught.value) == ["duration_seconds"]
