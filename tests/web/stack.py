"""The whole stack for the browser tests: services and gateways on a loop in a background thread.

Selenium's calls block, so the services cannot share the test's event loop; they run on their
own loop in a thread, and the browser reaches the gateways over real loopback HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

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

API_KEY = "web-test-key"
# Small, so that a test's "too large" file is small too (a font or a photo fits).
UPLOAD_MAX_BYTES = 1024 * 1024
_START_TIMEOUT_S = 60.0
# Tiny frames keep a whole ad to seconds (180×320 at 12 fps), offline providers only.
_TINY_GENERATOR: dict[str, Any] = {
    "video_provider": "animatic",
    "animatic_draft_height": 320,
    "animatic_fps": 12,
}


@dataclass
class LiveStack:
    """Base URLs of an open gateway and of one behind ``API_KEY``, both in front of one stack."""

    data_dir: Path
    open_url: str = ""
    keyed_url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _gateways: dict[str, tuple[GatewaySettings, web.AppRunner]] = field(default_factory=dict)

    def run_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._thread_main, name="web-stack", daemon=True)
        thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._error is not None:
            raise RuntimeError(f"the stack did not start: {self._error!r}")
        return thread

    def stop(self, thread: threading.Thread) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        thread.join(_START_TIMEOUT_S)

    @contextlib.contextmanager
    def open_gateway_down(self) -> Iterator[None]:
        """Stops the open gateway (cutting its streams) and starts it again on the same port."""
        settings, runner = self._gateways["open"]
        port = int(runner.addresses[0][1])
        self._on_loop(runner.cleanup())
        try:
            yield
        finally:
            self._on_loop(self._serve_gateway("open", settings, port))

    def _on_loop(self, work: Coroutine[Any, Any, Any]) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(_START_TIMEOUT_S)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to the waiting test thread
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            ports = await self._start_services(stack)
            stack.push_async_callback(self._stop_gateways)
            self.open_url = await self._serve_gateway(
                "open", _gateway_settings(ports, self.data_dir, "")
            )
            keyed = _gateway_settings(ports, self.data_dir, API_KEY)
            self.keyed_url = await self._serve_gateway("keyed", keyed)
            self._ready.set()
            await self._stop.wait()

    async def _start_services(self, stack: contextlib.AsyncExitStack) -> dict[str, int]:
        common: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "data_dir": self.data_dir}
        ports: dict[str, int] = {}
        for name, create in (
            ("planner", create_planner(PlannerSettings(**common, planner_provider="offline"))),
            ("generator", create_generator(GeneratorSettings(**common, **_TINY_GENERATOR))),
            ("composer", create_composer(ComposerSettings(**common))),
        ):
            ports[name] = await _started(stack, *(await create))
        studio = StudioSettings(**common, retry_interval_s=0.2, **_addresses(ports))
        ports["studio"] = await _started(stack, *(await create_studio(studio)))
        return ports

    async def _serve_gateway(self, name: str, settings: GatewaySettings, port: int = 0) -> str:
        # Streams do not finish by themselves: a stopping gateway cuts them at once.
        runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        self._gateways[name] = (settings, runner)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    async def _stop_gateways(self) -> None:
        for _, runner in self._gateways.values():
            await runner.cleanup()


def _gateway_settings(ports: dict[str, int], data_dir: Path, keys: str) -> GatewaySettings:
    return GatewaySettings(
        **_addresses(ports),
        studio_address=f"127.0.0.1:{ports['studio']}",
        data_dir=data_dir,
        gateway_api_keys=keys,
        sse_heartbeat_s=1,
        upload_max_bytes=UPLOAD_MAX_BYTES,
    )


def _addresses(ports: dict[str, int]) -> dict[str, Any]:
    return {
        f"{name}_address": f"127.0.0.1:{ports[name]}"
        for name in ("planner", "generator", "composer")
    }


async def _started(stack: contextlib.AsyncExitStack, host: ServiceHost, port: int) -> int:
    await host.start()
    stack.push_async_callback(host.stop, 0)
    return port


@contextlib.contextmanager
def live_stack(data_dir: Path) -> Iterator[LiveStack]:
    stack = LiveStack(data_dir)
    thread = stack.run_in_thread()
    try:
        yield stack
    finally:
        stack.stop(thread)
