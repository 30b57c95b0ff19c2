"""A gateway started as `python -m gateway` starts it (GatewayRunner), over an in-process stack.

The stack's own TestClient uses aiohttp's plain runner, whose connections answer malformed HTTP
with text pages; tests that send raw bytes need the production connection handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from aiohttp.web_runner import BaseRunner

from gateway.app import create_app
from gateway.http_server import GatewayRunner
from gateway.settings import GatewaySettings
from tests.reliability.helpers import Stack


class ProductionServer(TestServer):
    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return GatewayRunner(self.app, **kwargs)


@contextlib.asynccontextmanager
async def production_gateway(stack: Stack, data_dir: Path, **settings: Any) -> AsyncIterator[int]:
    """Yields the port of a GatewayRunner-served gateway over ``stack``'s services."""
    gateway = GatewaySettings(
        planner_address=f"127.0.0.1:{stack.ports['planner']}",
        generator_address=f"127.0.0.1:{stack.ports['generator']}",
        composer_address=f"127.0.0.1:{stack.ports['composer']}",
        data_dir=data_dir,
        **settings,
    )
    server = ProductionServer(create_app(gateway))
    await server.start_server()
    try:
        assert server.port is not None
        yield server.port
    finally:
        await server.close()
