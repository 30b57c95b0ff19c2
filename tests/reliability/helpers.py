"""Shared pieces of the reliability tests: real services in-process, a gateway, trap servers."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.runtime.server import ServiceHost
from reelforge.v1 import composer_pb2_grpc, generator_pb2_grpc, planner_pb2_grpc
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings
from services.generator.server import create_server as create_generator
from services.generator.settings import GeneratorSettings
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from tests.fakes.replicate_server import ensure_media


@dataclass
class Stack:
    """Planner, generator and composer in this process, with stubs and a gateway client."""

    planner: planner_pb2_grpc.PlannerServiceAsyncStub
    generator: generator_pb2_grpc.GeneratorServiceAsyncStub
    composer: composer_pb2_grpc.ComposerServiceAsyncStub
    http: TestClient[Any, Any]
    ports: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def in_process_stack(
    data_dir: Path,
    *,
    generator: dict[str, Any] | None = None,
    composer: dict[str, Any] | None = None,
    gateway: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """Real services on port 0 (offline planner) and a real gateway app in front of them."""
    common: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "data_dir": data_dir}
    built: list[tuple[ServiceHost, int]] = [
        await create_planner(PlannerSettings(**common, planner_provider="offline")),
        await create_generator(GeneratorSettings(**common, **(generator or {}))),
        await create_composer(ComposerSettings(**common, **(composer or {}))),
    ]
    for host, _ in built:
        await host.start()
    ports = [port for _, port in built]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in ports]
    settings = GatewaySettings(
        planner_address=f"127.0.0.1:{ports[0]}",
        generator_address=f"127.0.0.1:{ports[1]}",
        composer_address=f"127.0.0.1:{ports[2]}",
        data_dir=data_dir,
        upstream_timeout_s=10,
        **(gateway or {}),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        yield Stack(
            planner_pb2_grpc.PlannerServiceStub(channels[0]),
            generator_pb2_grpc.GeneratorServiceStub(channels[1]),
            composer_pb2_grpc.ComposerServiceStub(channels[2]),
            client,
            dict(zip(("planner", "generator", "composer"), ports, strict=True)),
        )
    finally:
        await client.close()
        for channel in channels:
            await channel.close()
        for host, _ in built:
            await host.stop(0)


@dataclass
class TrapServer:
    """A loopback HTTP server that must (or must not) be reached; counts every request.

    ``/media/{name}`` serves the fake provider's tiny PNG/MP4; ``/redirect?to=URL`` answers 302.
    """

    host: str
    hits: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> TrapServer:
        media = ensure_media()
        app = web.Application()

        async def serve_media(request: web.Request) -> web.StreamResponse:
            self.hits[request.path] += 1
            path = media[request.match_info["name"]]
            return web.Response(body=path.read_bytes(), content_type="application/octet-stream")

        async def redirect(request: web.Request) -> web.StreamResponse:
            self.hits[request.path] += 1
            raise web.HTTPFound(request.query["to"])

        async def anything(request: web.Request) -> web.StreamResponse:
            self.hits[request.path] += 1
            return web.Response(text="secret internal data")

        app.add_routes(
            [
                web.get("/media/{name}", serve_media),
                web.get("/redirect", redirect),
                web.get("/{tail:.*}", anything),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def total(self) -> int:
        return sum(self.hits.values())
