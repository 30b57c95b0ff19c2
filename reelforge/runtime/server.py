"""Hosting a gRPC service: health, reflection, interceptors, graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from reelforge.runtime.interceptors import ServiceInterceptor
from reelforge.runtime.settings import ServiceSettings

_LOGGER = logging.getLogger(__name__)

Cleanup = Callable[[], Awaitable[None]]
Registrar = Callable[[grpc.aio.Server], None]
_S = TypeVar("_S", bound=ServiceSettings)


@dataclass
class ServiceHost:
    """A built gRPC server with its health servicer and the cleanups to run after it stops."""

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service_names: Sequence[str]
    cleanups: list[Cleanup] = field(default_factory=list)
    _stopped: bool = False

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Runs after the server stopped, newest first (close databases, stop workers)."""
        self.cleanups.append(cleanup)

    async def start(self) -> None:
        await self.server.start()
        for name in ("", *self.service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace_s: float) -> None:
        """Health NOT_SERVING → drain in-flight calls for ``grace_s`` → cleanups. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)
        for cleanup in reversed(self.cleanups):
            # Every cleanup runs: a database that fails to close must not leave workers running.
            try:
                await cleanup()
            except Exception:
                name = getattr(cleanup, "__qualname__", repr(cleanup))
                _LOGGER.exception("cleanup %s failed; running the others", name)


async def build_host(
    settings: ServiceSettings,
    registrars: Iterable[Registrar],
    service_names: Sequence[str],
) -> tuple[ServiceHost, int]:
    """Creates the server, registers services, health and reflection, and binds the port."""
    server = grpc.aio.server(
        interceptors=[ServiceInterceptor()],
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        options=[("grpc.so_reuseport", 0)],
    )
    for register in registrars:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [
            *service_names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    return ServiceHost(server, health_servicer, service_names), port


def stop_on_signals() -> asyncio.Event:
    """An event SIGTERM and SIGINT set. Installed before start-up begins: a signal that lands
    while the port is bound but work is still being resumed is a graceful stop too, not death
    by the signal's default action."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(host: ServiceHost, port: int, grace_s: float, stop: asyncio.Event) -> None:
    """Runs until ``stop`` is set (see stop_on_signals), then shuts down gracefully."""
    await host.start()
    _LOGGER.info("serving on port %s", port, extra={"port": port})
    await stop.wait()
    _LOGGER.info("shutting down (grace %.1f s)", grace_s)
    await host.stop(grace_s)
    _LOGGER.info("stopped")


def run(
    create_server: Callable[[_S], Awaitable[tuple[ServiceHost, int]]],
    settings: _S,
) -> None:
    """Process entry point shared by every service's ``__main__``."""

    async def main() -> None:
        stop = stop_on_signals()
        host, port = await create_server(settings)
        await serve(host, port, settings.grace_period_s, stop)

    asyncio.run(main())
