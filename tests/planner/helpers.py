"""Helpers of the planner tests: a sample brief, settings for either provider, a running planner."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import grpc
import pytest

from reelforge.v1 import common_pb2, planner_pb2, planner_pb2_grpc
from services.planner.server import create_server
from services.planner.settings import PlannerSettings
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import service_stub

TEST_KEY = "sk-test-key"


def sample_brief(**overrides: Any) -> common_pb2.CreativeBrief:
    fields: dict[str, Any] = {
        "product_name": "Zing",
        "product_description": "A sparkling energy drink with no sugar crash.",
        "target_audience": "students cramming for exams",
        "tone": "energetic, playful",
        "visual_style_keywords": ["neon", "urban"],
        "key_messages": ["No sugar crash", "Tastes like real fruit", "Fits in any bag"],
        "call_to_action": "Grab a can",
    }
    fields.update(overrides)
    return common_pb2.CreativeBrief(**fields)


def offline_settings(data_dir: Path, **overrides: Any) -> PlannerSettings:
    values: dict[str, Any] = {
        "planner_provider": "offline",
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": data_dir,
    }
    return PlannerSettings(**{**values, **overrides})


def openai_settings(fake: FakeOpenAI, data_dir: Path, **overrides: Any) -> PlannerSettings:
    values: dict[str, Any] = {
        "planner_provider": "openai",
        "openai_api_key": TEST_KEY,
        "openai_base_url": fake.base_url,
        "openai_model": None,
        "structured_output": "json_schema",
        "openai_max_retries": 0,
        "openai_timeout_s": 10.0,
        "environment": "development",
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": data_dir,
    }
    return PlannerSettings(**{**values, **overrides})


def planner_stub(
    settings: PlannerSettings,
) -> contextlib.AbstractAsyncContextManager[planner_pb2_grpc.PlannerServiceAsyncStub]:
    """A real planner server on port 0 and a stub talking to it over a real channel."""
    return service_stub(create_server, settings, planner_pb2_grpc.PlannerServiceStub)


async def plan_scenes_error(
    settings: PlannerSettings, request: planner_pb2.PlanScenesRequest, timeout_s: float
) -> pytest.ExceptionInfo[grpc.aio.AioRpcError]:
    """The error a planner on ``settings`` answers PlanScenes with (fails the test if none)."""
    async with planner_stub(settings) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PlanScenes(request, timeout=timeout_s)
    return caught
