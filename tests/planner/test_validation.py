"""Bad planner input → INVALID_ARGUMENT with BadRequest field violations naming each field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from gateway.app import create_app
from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.server import create_server
from services.planner.validation import (
    validate_conversation,
    validate_generate_moods,
    validate_plan_scenes,
)
from tests.gateway.helpers import AiohttpClient, gateway_settings
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


# ---- the brand kit and product images (issue 15) -------------------------------------------

_ARTIFACT = "ab" * 32  # the shape of an artifact id: a lower-case hex sha256


def _brand(**fields: Any) -> common_pb2.BrandKit:
    return common_pb2.BrandKit(**fields)


def test_a_full_brand_kit_and_product_images_are_accepted() -> None:
    brief = sample_brief(
        brand=_brand(
            name="Zing",
            logo=_ARTIFACT,
            palette=["#FF2D55", "#111111", "#FAFAFA", "#00C2A8", "#FFD60A", "#5856D6"],
            heading_font=_ARTIFACT,
            body_font=_ARTIFACT,
            tone_words=["bold", "fizzy"],
        ),
        product_images=[_ARTIFACT, "https://cdn.example.com/can.png", _ARTIFACT, _ARTIFACT],
    )
    validate_generate_moods(planner_pb2.GenerateMoodsRequest(brief=brief))
    validate_plan_scenes(planner_pb2.PlanScenesRequest(brief=brief))


@pytest.mark.parametrize(
    ("brief", "field"),
    [
        ({"brand": _brand(palette=["#FFFFFF", "#000000", "red"])}, "brief.brand.palette[2]"),
        ({"brand": _brand(palette=["#FFF"])}, "brief.brand.palette[0]"),
        ({"brand": _brand(palette=["#000000"] * 7)}, "brief.brand.palette"),
        ({"product_images": [_ARTIFACT] * 3 + ["not-an-id"]}, "brief.product_images[3]"),
        ({"product_images": [_ARTIFACT] * 5}, "brief.product_images"),
        ({"product_images": ["http://cdn.example.com/can.png"]}, "brief.product_images[0]"),
        ({"product_images": [""]}, "brief.product_images[0]"),
        ({"product_images": ["https://" + "x" * 4100]}, "brief.product_images[0]"),
        ({"brand": _brand(logo=_ARTIFACT.upper())}, "brief.brand.logo"),
        ({"brand": _brand(logo=_ARTIFACT[:-1])}, "brief.brand.logo"),
        ({"brand": _brand(logo="ftp://example.com/logo.png")}, "brief.brand.logo"),
        (
            {"brand": _brand(heading_font="https://example.com/font.ttf")},
            "brief.brand.heading_font",
        ),
        ({"brand": _brand(body_font="Inter")}, "brief.brand.body_font"),
        ({"brand": _brand(name="x" * 201)}, "brief.brand.name"),
        ({"brand": _brand(tone_words=["bold", " "])}, "brief.brand.tone_words[1]"),
        ({"brand": _brand(tone_words=["x" * 51])}, "brief.brand.tone_words[0]"),
        ({"brand": _brand(tone_words=["bold"] * 11)}, "brief.brand.tone_words"),
    ],
)
def test_brand_and_product_image_rules_name_the_field(brief: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_generate_moods(planner_pb2.GenerateMoodsRequest(brief=sample_brief(**brief)))
    assert _fields(caught.value) == [field]


async def test_bad_brand_is_refused_over_grpc(data_dir: Path) -> None:
    brief = sample_brief(
        brand=_brand(logo="http://example.com/logo.png", palette=["#000000", "#FFFFFF", "blue"]),
        product_images=[_ARTIFACT, _ARTIFACT[:40]],
    )
    async with planner_stub(offline_settings(data_dir)) as stub:
        violations = await field_violations(
            stub.GenerateMoods(planner_pb2.GenerateMoodsRequest(brief=brief), timeout=10)
        )
    assert list(violations) == [
        "brief.product_images[1]",
        "brief.brand.logo",
        "brief.brand.palette[2]",
    ]
    assert "https" in violations["brief.brand.logo"]
    assert "artifact id" in violations["brief.product_images[1]"]


async def test_bad_brand_is_http_400_naming_the_field_through_the_gateway(
    data_dir: Path, aiohttp_client: AiohttpClient
) -> None:
    host, port = await create_server(offline_settings(data_dir))
    async with host:
        ports = {"planner": port, "generator": port, "composer": port}
        client = await aiohttp_client(create_app(gateway_settings(ports, data_dir)))
        brief: dict[str, Any] = json_format.MessageToDict(sample_brief())
        brief["brand"] = {"name": "Zing", "palette": ["#FF2D55", "#111111", "pink"]}
        brief["productImages"] = ["https://cdn.example.com/a.png"] * 4 + ["b.png"]
        body = {"brief": brief, "durationSeconds": 30}
        response = await client.post("/api/scenes/plan", json=body)
        error = await response.json()
    assert response.status == 400, error
    assert error["code"] == "INVALID_ARGUMENT", error
    (bad,) = [d for d in error["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    fields = [v["field"] for v in bad["fieldViolations"]]
    assert fields == ["brief.product_images", "brief.product_images[4]", "brief.brand.palette[2]"]
