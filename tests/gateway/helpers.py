"""Helpers of the gateway tests: hosts serving the test servicers, and gateway settings over them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.settings import GatewaySettings
from reelforge.runtime.server import ServiceHost, build_host
from reelforge.runtime.settings import ServiceSettings
from reelforge.v1 import composer_pb2_grpc, generator_pb2_grpc, planner_pb2_grpc
from services.composer.server import SERVICE_NAME as COMPOSER
from services.generator.server import SERVICE_NAME as GENERATOR
from services.planner.server import SERVICE_NAME as PLANNER
from services.studio.settings import StudioSettings
from tests.gateway.servicers import EchoComposer, EchoGenerator, ErrorPlanner

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]

# Per service: the generated add_*Servicer_to_server and the full service name.
_REGISTRATIONS: dict[str, tuple[Callable[[Any, Any], None], str]] = {
    "planner": (planner_pb2_grpc.add_PlannerServiceServicer_to_server, PLANNER),
    "generator": (generator_pb2_grpc.add_GeneratorServiceServicer_to_server, GENERATOR),
    "composer": (composer_pb2_grpc.add_ComposerServiceServicer_to_server, COMPOSER),
}


SERVICES = ("planner", "generator", "composer", "studio")


@dataclass
class Servicers:
    planner: ErrorPlanner
    generator: EchoGenerator
    composer: EchoComposer


async def servicer_host(
    settings: ServiceSettings, servicers: Servicers, name: str
) -> tuple[ServiceHost, int]:
    """A host serving one of the test servicers ("planner", "generator" or "composer")."""
    add, service_name = _REGISTRATIONS[name]
    servicer = getattr(servicers, name)
    return await build_host(settings, [lambda server: add(servicer, server)], [service_name])


@contextlib.asynccontextmanager
async def running_hosts(started: list[tuple[ServiceHost, int]]) -> AsyncIterator[dict[str, int]]:
    """Starts planner, generator, composer (and studio) hosts in that order; yields their ports."""
    for host, _ in started:
        await host.start()
    try:
        yield dict(zip(SERVICES, (port for _, port in started), strict=False))
    finally:
        for host, _ in started:
            await host.stop(0)


def studio_for(started: list[tuple[ServiceHost, int]], data_dir: Path) -> StudioSettings:
    """A studio whose children are the planner, generator and composer in ``started``."""
    planner, generator, composer = (f"127.0.0.1:{port}" for _, port in started[:3])
    return StudioSettings(
        port=0,
        host="127.0.0.1",
        data_dir=data_dir,
        planner_address=planner,
        generator_address=generator,
        composer_address=composer,
    )


def gateway_settings(ports: dict[str, int], data_dir: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "planner_address": f"127.0.0.1:{ports['planner']}",
        "generator_address": f"127.0.0.1:{ports['generator']}",
        "composer_address": f"127.0.0.1:{ports['composer']}",
        "studio_address": f"127.0.0.1:{ports.get('studio', 0)}",
        "data_dir": data_dir,
        "upstream_timeout_s": 5,
        "sse_heartbeat_s": 0.05,
    }
    return GatewaySettings(**(values | overrides))
