"""Fixtures: gRPC services on port 0 (real scaffolds or test servicers) and a gateway in front."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from reelforge.runtime.settings import ServiceSettings
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings
from services.generator.server import create_server as create_generator
from services.generator.settings import GeneratorSettings
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from services.studio.server import create_server as create_studio
from tests.gateway.helpers import (
    AiohttpClient,
    ClientFactory,
    Servicers,
    gateway_settings,
    running_hosts,
    servicer_host,
    studio_for,
)
from tests.gateway.servicers import EchoComposer, EchoGenerator, ErrorPlanner


@pytest.fixture
async def real_ports(data_dir: Path) -> AsyncIterator[dict[str, int]]:
    """The real services (scaffolds until they land), PLANNER_PROVIDER=offline."""
    common: dict[str, Any] = {"port": 0, "host": "127.0.0.1", "data_dir": data_dir}
    started = [
        await create_planner(PlannerSettings(**common, planner_provider="offline")),
        await create_generator(GeneratorSettings(**common)),
        await create_composer(ComposerSettings(**common)),
    ]
    started.append(await create_studio(studio_for(started, data_dir)))
    async with running_hosts(started) as ports:
        yield ports


@pytest.fixture
def servicers() -> Servicers:
    return Servicers(ErrorPlanner(), EchoGenerator(), EchoComposer())


@pytest.fixture
async def test_ports(servicers: Servicers, data_dir: Path) -> AsyncIterator[dict[str, int]]:
    settings = ServiceSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    started = [
        await servicer_host(settings, servicers, name)
        for name in ("planner", "generator", "composer")
    ]
    async with running_hosts(started) as ports:
        yield ports


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
