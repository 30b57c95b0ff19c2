"""Hosting a gRPC service: health, reflection, interceptors, lifecycle, graceful shutdown.

Every service has the same shape (docs/ARCHITECTURE.md):

- ``services/<name>/wiring.py`` builds the service's parts from settings, opening nothing, and
  returns an object with a :class:`Lifecycle` (``open`` its resources, ``resume`` its work);
- ``services/<name>/server.py`` ``create_server(settings) -> (ServiceHost, port)`` only
  constructs: wiring, servicer, the gRPC server with its port bound;
- the host opens resources at ``start()`` (each close registered as it opens), serves, and
  resumes work; ``stop()`` drains calls and then runs every registered close, newest first.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Protocol, Self, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from reelforge.runtime.interceptors import ServiceInterceptor
from reelforge.runtime.settings import ServiceSettings

_LOGGER = logging.getLogger(__name__)

Cleanup = Callable[[], Awaitable[None]]
Registrar = Callable[[grpc.aio.Server], None]
_S = TypeVar("_S", bound=ServiceSettings)


class Resources:
    """What a service opened, closed newest first at stop. Every close runs: one that fails is
    logged with its name and the others still run (a database that fails to close must not
    leave workers running)."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    def on_close(self, close: Cleanup) -> None:
        """Registers ``close`` right after the thing it closes was opened."""
        self._stack.push_async_callback(_logged(close))

    async def aclose(self) -> None:
        await self._stack.aclose()


def _logged(close: Cleanup) -> Cleanup:
    async def run() -> None:
        try:
            await close()
        except Exception:
            name = getattr(close, "__qualname__", repr(close))
            _LOGGER.exception("cleanup %s failed; running the others", name)

    return run


class Lifecycle(Protocol):
    """A service's part in the host's start and stop (see the module docstring)."""

    async def open(self, resources: Resources) -> None:
        """Opens databases, listeners, sessions and workers; registers each close as it opens."""

    async def resume(self) -> None:
        """Continues work an earlier process left unfinished; runs once the server serves."""


class ServiceHost:
    """A gRPC server with its health servicer and the service's lifecycle.

    ``async with host:`` starts and stops it; ``start()``/``stop(grace_s)`` do the same for
    callers that manage the two moments themselves. A start-up that fails closes what it
    had opened before the error propagates.
    """

    def __init__(
        self,
        server: grpc.aio.Server,
        health_servicer: health.aio.HealthServicer,
        service_names: Sequence[str],
        lifecycle: Lifecycle | None = None,
        grace_s: float = 0.0,
    ) -> None:
        self.server = server
        self.health = health_servicer
        self.service_names = service_names
        self._lifecycle = lifecycle
        self.grace_s = grace_s
        self._resources = Resources()
        self._stopped = False

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Runs after the server stopped, newest first (for hosts without a lifecycle)."""
        self._resources.on_close(cleanup)

    async def start(self) -> None:
        """Opens resources → serves (health SERVING) → resumes interrupted work."""
        try:
            if self._lifecycle is not None:
                await self._lifecycle.open(self._resources)
            await self.server.start()
            for name in ("", *self.service_names):
                await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
            if self._lifecycle is not None:
                await self._lifecycle.resume()
        except BaseException:
            await self.stop(0)
            raise

    async def stop(self, grace_s: float) -> None:
        """Health NOT_SERVING → drain in-flight calls for ``grace_s`` → every close. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)
        await self._resources.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop(self.grace_s)


async def build_host(
    settings: ServiceSettings,
    registrars: Iterable[Registrar],
    service_names: Sequence[str],
    lifecycle: Lifecycle | None = None,
) -> tuple[ServiceHost, int]:
    """Creates the server, registers services, health and reflection, and binds the port.

    Opens nothing else: the lifecycle's resources open at ``ServiceHost.start``.
    """
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
    host = ServiceHost(
        server, health_servicer, service_names, lifecycle, grace_s=settings.grace_period_s
    )
    return host, port


def stop_on_signals() -> asyncio.Event:
    """An event SIGTERM and SIGINT set. Installed before start-up begins: a signal that lands
    while the port is bound but work is still being resumed is a graceful stop too, not death
    by the signal's default action."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(host: ServiceHost, port: int, stop: asyncio.Event) -> None:
    """Runs until ``stop`` is set (see stop_on_signals), then shuts down gracefully."""
    async with host:
        _LOGGER.info("serving on port %s", port, extra={"port": port})
        await stop.wait()
        _LOGGER.info("shutting down (grace %.1f s)", host.grace_s)
    _LOGGER.info("stopped")


def run(
    create_server: Callable[[_S], Awaitable[tuple[ServiceHost, int]]],
    settings: _S,
) -> None:
    """Process entry point shared by every service's ``__main__``."""

    async def main() -> None:
        stop = stop_on_signals()
        host, port = await create_server(settings)
        await serve(host, port, stop)

    asyncio.run(main())
