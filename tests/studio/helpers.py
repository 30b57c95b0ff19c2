"""Helpers of the studio tests: the stack in-process, a gateway client, ads made and watched."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import wait_until

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

    async def restart_studio(self, **overrides: Any) -> None:
        """Stops the studio (its runs stop unmarked, as in a crash) and starts a new one on the
        same database and port."""
        await self.hosts["studio"].stop(0)
        settings = studio_settings(self.ports, self.data_dir, port=self.ports["studio"])
        host, _ = await create_studio(settings.model_copy(update=overrides))
        await host.start()
        self.hosts["studio"] = host


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


def hosted_generator(fake: FakeReplicate) -> dict[str, Any]:
    """Generator settings for the hosted path: Replicate is the fake, polling is quick."""
    return {
        "video_provider": "replicate",
        "replicate_api_token": fake.token,
        "replicate_base_url": fake.base_url,
        "fetch_allow_networks": "127.0.0.0/8",  # the fake serves its outputs on loopback
        "poll_initial_s": 0.05,
        "poll_max_s": 0.2,
    }


@contextlib.asynccontextmanager
async def children(data_dir: Path, generator: dict[str, Any]) -> AsyncIterator[Stack]:
    """Planner (offline), generator and composer in this process, started; no studio yet."""
    common: dict[str, Any] = {"port": 0, "host": "127.0.0.1", "data_dir": data_dir}
    started = {
        "planner": await create_planner(PlannerSettings(**common, planner_provider="offline")),
        "generator": await create_generator(
            GeneratorSettings(**common, **(TINY_GENERATOR | generator))
        ),
        "composer": await create_composer(ComposerSettings(**common)),
    }
    stack = Stack({n: port for n, (_, port) in started.items()}, {}, data_dir)
    stack.hosts = {name: host for name, (host, _) in started.items()}
    for host in stack.hosts.values():
        await host.start()
    try:
        yield stack
    finally:
        for host in reversed(stack.hosts.values()):
            await host.stop(0)


@contextlib.asynccontextmanager
async def whole_stack(
    data_dir: Path, generator: dict[str, Any] | None = None, **studio: Any
) -> AsyncIterator[Stack]:
    """The children and a studio in this process, started; stopped in reverse order."""
    async with children(data_dir, generator or {}) as stack:
        host, port = await create_studio(studio_settings(stack.ports, data_dir, **studio))
        stack.ports["studio"], stack.hosts["studio"] = port, host
        await host.start()
        yield stack


AiohttpClient = Callable[..., Awaitable[Client]]


async def gateway_client(aiohttp_client: AiohttpClient, stack: Stack) -> Client:
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


async def reachable(client: Client) -> None:
    """Waits until the gateway reaches the studio again (its channel backs off while it is down)."""

    async def answers() -> bool:
        return (await client.get("/api/ads?pageSize=1")).status == 200

    await wait_until(answers, timeout_s=20, what="the gateway reaching the restarted studio")


def paid_items(ad: dict[str, Any]) -> int:
    """Predictions an ad's pipeline pays for: a sample image per mood, each scene version's new
    seed image and new clip (a version names the job that made each), one music track, and one
    voice line per scene and voice job that spoke it (versions keep the job of their line)."""
    versions = [v for s in ad["storyboard"] for v in s["versions"]]
    made = sum(bool(v.get("imageJobId")) + bool(v.get("clipJobId")) for v in versions)
    spoken = sum(
        len({v["voiceJobId"] for v in s["versions"] if v.get("voiceJobId")})
        for s in ad["storyboard"]
    )
    return len(ad["moods"]) + made + 1 + spoken
