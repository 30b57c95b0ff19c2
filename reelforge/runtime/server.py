"""Hosting a gRPC service: health, reflection, interceptors, lifecycle, graceful shutdown.

Every service has the same shape (docs/ARCHITECTURE.md):

- ``services/<name>/wiring.py`` builds the service's parts from settings, opening nothing, and
  returns them with their ``lifecycle`` (``reelforge.runtime.lifecycle``: ``open`` its
  resources, ``resume`` its work);
- ``services/<name>/server.py`` ``create_server(settings) -> (ServiceHost, port)`` only
  constructs: wiring, servicer, and the host (:func:`create_host`) with its port bound;
- the host opens resources at ``start()`` (each close registered as it opens), serves, and
  resumes work; ``stop()`` drains calls and then runs every registered close, newest first.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from reelforge.runtime.heap import freeze_startup_heap
from reelforge.runtime.interceptors import ServiceInterceptor
from reelforge.runtime.lifecycle import Cleanup, Lifecycle, Resources, StartsAndCloses
from reelforge.runtime.logs import configure_logging
from reelforge.runtime.settings import ServiceSettings, load_settings

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "Lifecycle",
    "Registrar",
    "Resources",
    "ServiceHost",
    "build_host",
    "contract_service",
    "create_host",
    "main",
    "run",
    "serve",
    "stop_on_signals",
]

Registrar = Callable[[grpc.aio.Server], None]
_S = TypeVar("_S", bound=ServiceSettings)
ServerFactory = Callable[[_S], Awaitable[tuple["ServiceHost", int]]]


@dataclass(eq=False)
class ServiceHost(StartsAndCloses):
    """A gRPC server with its health servicer and the service's lifecycle.

    ``async with host:`` starts and stops it; ``start()``/``stop(grace_s)`` do the same for
    callers that manage the two moments themselves. A start-up that fails closes what it
    had opened before the error propagates.
    """

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service_names: Sequence[str]
    lifecycle: Lifecycle | None = None
    grace_s: float = 0.0
    _resources: Resources = field(default_factory=Resources, init=False)
    _stopped: bool = field(default=False, init=False)

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Runs after the server stopped, newest first (for hosts without a lifecycle)."""
        self._resources.on_close(cleanup)

    async def start(self) -> None:
        """Opens resources → serves (health SERVING) → resumes interrupted work."""
        try:
            if self.lifecycle is not None:
                await self.lifecycle.open(self._resources)
            await self.server.start()
            for name in ("", *self.service_names):
                await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
            if self.lifecycle is not None:
                await self.lifecycle.resume()
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

    async def aclose(self) -> None:
        """``stop`` with the settings' grace period (what ``async with`` ends with)."""
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


async def create_host(
    settings: ServiceSettings, servicer: object, lifecycle: Lifecycle
) -> tuple[ServiceHost, int]:
    """``build_host`` for one servicer of the contract, registered by :func:`contract_service`."""
    name, register = contract_service(servicer)
    return await build_host(settings, [register], [name], lifecycle)


def contract_service(servicer: object) -> tuple[str, Registrar]:
    """The full name of the contract service ``servicer`` implements, and how to add it.

    The generated code names both by one rule: ``<x>_pb2_grpc.<S>Servicer`` is added to a server
    by ``<x>_pb2_grpc.add_<S>Servicer_to_server`` and described by
    ``<x>_pb2.DESCRIPTOR.services_by_name["<S>"]``; a servicer subclasses the first.
    """
    for base in type(servicer).__mro__:
        module_name, class_name = base.__module__, base.__name__
        if module_name.endswith("_pb2_grpc") and class_name.endswith("Servicer"):
            grpc_module = importlib.import_module(module_name)
            messages = importlib.import_module(module_name.removesuffix("_grpc"))
            service = messages.DESCRIPTOR.services_by_name[class_name.removesuffix("Servicer")]
            add = getattr(grpc_module, f"add_{class_name}_to_server")
            return service.full_name, partial(add, servicer)
    raise TypeError(f"{type(servicer).__name__} subclasses no generated *Servicer")


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


def main(name: str, settings_type: type[_S], create_server: ServerFactory[_S]) -> None:
    """The whole of ``python -m services.<name>``: settings from the environment (or exit 2
    naming the bad one), logs for ``name``, then :func:`run` until SIGTERM/SIGINT."""
    settings = load_settings(settings_type)
    configure_logging(name, settings.log_level, settings.log_format)
    run(create_server, settings)


def run(create_server: ServerFactory[_S], settings: _S) -> None:
    """Creates the server from ``settings`` and serves until SIGTERM/SIGINT (see :func:`serve`)."""

    async def main() -> None:
        stop = stop_on_signals()
        host, port = await create_server(settings)
        freeze_startup_heap()
        await serve(host, port, stop)

    asyncio.run(main())
