"""Studio fixtures: the whole stack in-process (offline planner, animatic generator, composer,
studio) at CI size, and a gateway in front of it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.runtime.server import ServiceHost
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings
from services.generator.server import create_server as create_generator
from services.generator.settings import GeneratorSettings
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from services.studio.server import create_server as create_studio
from services.studio.settings import StudioSettings

Client = TestClient[Any, Any]
TERMINAL = {"AD_STATE_COMPLETED", "AD_STATE_FAILED", "AD_STATE_CANCELED"}
# Tiny frames and a short ad keep a whole pipeline to seconds (180×320, 12 fps).
TINY_GENERATOR: dict[str, Any] = {"animatic_draft_height": 320, "animatic_fps": 12}
AD_SECONDS = 6.0
RENDER = {"height": 320, "fps": 12}
BRIEF = {
    "productName": "Lumen Bottle",
    "productDescription": "A self-cleaning smart water bottle that glows to remind you to drink.",
    "targetAudience": "Busy urban professionals aged 25-40",
    "tone": "energetic, optimistic",
    "callToAction": "Get yours at lumenbottle.example",
    "durationSeconds": AD_SECONDS,
}


@dataclass
class Stack:
    ports: dict[str, int]
    hosts: dict[str, ServiceHost]
    data_dir: Path


def studio_settings(ports: dict[str, int], data_dir: Path, **overrides: Any) -> StudioSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": data_dir,
        "planner_address": f"127.0.0.1:{ports['planner']}",
        "generator_address": f"127.0.0.1:{ports['generator']}",
        "composer_address": f"127.0.0.1:{ports['composer']}",
        "retry_interval_s": 0.2,
    }
    return StudioSettings(**(values | overrides))


@pytest.fixture
async def stack(data_dir: Path) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {"port": 0, "host": "127.0.0.1", "data_dir": data_dir}
    started = {
        "planner": await create_planner(PlannerSettings(**common, planner_provider="offline")),
        "generator": await create_generator(GeneratorSettings(**common, **TINY_GENERATOR)),
        "composer": await create_composer(ComposerSettings(**common)),
    }
    ports = {name: port for name, (_, port) in started.items()}
    started["studio"] = await create_studio(studio_settings(ports, data_dir))
    ports["studio"] = started["studio"][1]
    hosts = {name: host for name, (host, _) in started.items()}
    for host in hosts.values():
        await host.start()
    try:
        yield Stack(ports, hosts, data_dir)
    finally:
        for host in reversed(hosts.values()):
            await host.stop(0)


AiohttpClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, stack: Stack) -> Client:
    p = stack.ports
    settings = GatewaySettings(
        planner_address=f"127.0.0.1:{p['planner']}",
        generator_address=f"127.0.0.1:{p['generator']}",
        composer_address=f"127.0.0.1:{p['composer']}",
        studio_address=f"127.0.0.1:{p['studio']}",
        data_dir=stack.data_dir,
        upstream_timeout_s=30,
        sse_heartbeat_s=1,
    )
    return await aiohttp_client(create_app(settings))


async def create_ad(client: Client, **body: Any) -> dict[str, Any]:
    payload = {"brief": BRIEF, "options": {"render": RENDER}} | body
    response = await client.post("/api/ads", json=payload)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def watch_ad(
    client: Client, ad_id: str, until: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every snapshot WatchAd streams (NDJSON), until a terminal state (or one of ``until``)."""
    stop = until or TERMINAL
    snapshots: list[dict[str, Any]] = []
    headers = {"Accept": "application/x-ndjson"}
    async with client.get(f"/api/ads/{ad_id}/events", headers=headers) as response:
        assert response.status == 200, await response.text()
        async for line in response.content:
            if not line.strip():
                continue
            message = json.loads(line)
            assert list(message) != ["error"], message  # a stream error is a lone "error" line
            snapshots.append(message)
            if message["state"] in stop:
                break
    return snapshots
