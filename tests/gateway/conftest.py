"""Fixtures: gRPC services on port 0 (real scaffolds or test servicers) and a gateway in front."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.runtime.server import ServiceHost, build_host
from reelforge.runtime.settings import ServiceSettings
from reelforge.v1 import composer_pb2_grpc, generator_pb2_grpc, planner_pb2_grpc
from services.composer.server import SERVICE_NAME as COMPOSER
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings
from services.generator.server import SERVICE_NAME as GENERATOR
from services.generator.server import create_server as create_generator
from services.generator.settings import GeneratorSettings
from services.planner.server import SERVICE_NAME as PLANNER
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from tests.gateway.servicers import EchoComposer, EchoGenerator, ErrorPlanner

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@dataclass
class Servicers:
    planner: ErrorPlanner
    generator: EchoGenerator
    composer: EchoComposer


async def servicer_host(
    settings: ServiceSettings, servicer: Any, add: Callable[[Any, Any], None], name: str
) -> tuple[ServiceHost, int]:
    """A host serving one test servicer (``add`` is the generated add_*Servicer_to_server)."""
    return await build_host(settings, [lambda server: add(servicer, server)], [name])


@contextlib.asynccontextmanager
async def running_hosts(started: list[tuple[ServiceHost, int]]) -> AsyncIterator[dict[str, int]]:
    """Starts planner, generator and composer hosts (in that order) and yields their ports."""
    for host, _ in started:
        await host.start()
    try:
        yield {"planner": started[0][1], "generator": started[1][1], "composer": started[2][1]}
    finally:
        for host, _ in started:
            await host.stop(0)


@pytest.fixture
async def real_ports(data_dir: Path) -> AsyncIterator[dict[str, int]]:
    """The real services (scaffolds until they land), PLANNER_PROVIDER=offline."""
    common: dict[str, Any] = {"port": 0, "host": "127.0.0.1", "data_dir": data_dir}
    started = [
        await create_planner(PlannerSettings(**common, planner_provider="offline")),
        await create_generator(GeneratorSettings(**common)),
        await create_composer(ComposerSettings(**common)),
    ]
    async with running_hosts(started) as ports:
        yield ports


@pytest.fixture
def servicers() -> Servicers:
    return Servicers(ErrorPlanner(), EchoGenerator(), EchoComposer())


@pytest.fixture
async def test_ports(servicers: Servicers, data_dir: Path) -> AsyncIterator[dict[str, int]]:
    settings = ServiceSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    started = [
        await servicer_host(
            settings,
            servicers.planner,
            planner_pb2_grpc.add_PlannerServiceServicer_to_server,
            PLANNER,
        ),
        await servicer_host(
            settings,
            servicers.generator,
            generator_pb2_grpc.add_GeneratorServiceServicer_to_server,
            GENERATOR,
        ),
        await servicer_host(
            settings,
            servicers.composer,
            composer_pb2_grpc.add_ComposerServiceServicer_to_server,
            COMPOSER,
        ),
    ]
    async with running_hosts(started) as ports:
        yield ports


def gateway_settings(ports: dict[str, int], data_dir: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "planner_address": f"127.0.0.1:{ports['planner']}",
        "generator_address": f"127.0.0.1:{ports['generator']}",
        "composer_address": f"127.0.0.1:{ports['composer']}",
        "data_dir": data_dir,
        "upstream_timeout_s": 5,
        "sse_heartbeat_s": 0.05,
    }
    return GatewaySettings(**(values | overrides))


@pytest.fixture
def make_client(
    aiohttp_client: AiohttpClient, test_ports: dict[str, int], data_dir: Path
) -> ClientFactory:
    """A gateway over the test servicers, with settings overrides."""

    async def make(**overrides: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(gateway_settings(test_ports, data_dir, **overrides)))

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    return await make_client()
