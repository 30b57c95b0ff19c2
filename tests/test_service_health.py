"""Every gRPC service starts on port 0, reports SERVING, and answers unknown work clearly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from reelforge.runtime.server import ServiceHost
from services.composer.server import SERVICE_NAME as COMPOSER
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings
from services.generator.server import SERVICE_NAME as GENERATOR
from services.generator.server import create_server as create_generator
from services.generator.settings import GeneratorSettings
from services.planner.server import SERVICE_NAME as PLANNER
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from tests.grpc_helpers import running_service

SERVICES: list[tuple[str, Callable[[Any], Awaitable[tuple[ServiceHost, int]]], type[Any]]] = [
    (PLANNER, create_planner, PlannerSettings),
    (GENERATOR, create_generator, GeneratorSettings),
    (COMPOSER, create_composer, ComposerSettings),
]


@pytest.mark.parametrize(("name", "create", "settings_cls"), SERVICES, ids=lambda v: str(v))
async def test_health_check_serving(
    name: str, create: Any, settings_cls: type[Any], data_dir: Path
) -> None:
    settings = settings_cls(port=0, host="127.0.0.1", data_dir=data_dir)
    async with running_service(create, settings) as (channel, port):
        assert port > 0
        stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs' HealthStub lacks its methods
        for service in ("", name):
            answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_unknown_service_in_health_is_not_found(data_dir: Path) -> None:
    settings = PlannerSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    async with running_service(create_planner, settings) as (channel, _):
        stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs' HealthStub lacks its methods
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Check(health_pb2.HealthCheckRequest(service="nope.Service"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
