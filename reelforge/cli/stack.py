"""`reelforge stack up`: planner, generator, composer, studio and gateway as local processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2

from reelforge.cli.errors import CliError

_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class StackPorts:
    planner: int = 50051
    generator: int = 50052
    composer: int = 50053
    gateway: int = 8080
    studio: int = 50054

    @classmethod
    def free(cls) -> StackPorts:
        """Five ports the OS says are free now (for tests and side-by-side stacks)."""
        return cls(*(_free_port() for _ in range(5)))


@dataclass
class LocalStack:
    """Running service processes; their output is prefixed with the service's name."""

    ports: StackPorts
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def environments(self, base: Mapping[str, str]) -> dict[str, dict[str, str]]:
        p = self.ports
        common = {**base, "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
        return {
            "planner": {**common, "PORT": str(p.planner)},
            "generator": {**common, "PORT": str(p.generator)},
            "composer": {**common, "PORT": str(p.composer)},
            "studio": {
                **common,
                "PORT": str(p.studio),
                "PLANNER_ADDRESS": f"127.0.0.1:{p.planner}",
                "GENERATOR_ADDRESS": f"127.0.0.1:{p.generator}",
                "COMPOSER_ADDRESS": f"127.0.0.1:{p.composer}",
            },
            "gateway": {
                **common,
                "PORT": str(p.gateway),
                "PLANNER_ADDRESS": f"127.0.0.1:{p.planner}",
                "GENERATOR_ADDRESS": f"127.0.0.1:{p.generator}",
                "COMPOSER_ADDRESS": f"127.0.0.1:{p.composer}",
                "STUDIO_ADDRESS": f"127.0.0.1:{p.studio}",
            },
        }


_MODULES = {
    "planner": "services.planner",
    "generator": "services.generator",
    "composer": "services.composer",
    "studio": "services.studio",
    "gateway": "gateway",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _pump(name: str, stream: asyncio.StreamReader, quiet: bool) -> None:
    width = max(len(n) for n in _MODULES)
    async for line in stream:
        if not quiet:
            sys.stderr.write(f"{name:<{width}} | {line.decode(errors='replace')}")


async def _grpc_ready(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        # The typeshed HealthStub declares no methods, so call Check by its path, typed.
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        try:
            answer = await check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def _http_ready(url: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as r,
        ):
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def _wait_ready(stack: LocalStack) -> None:
    """Waits until every service reports SERVING and the gateway's /health answers."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    pending: dict[str, Callable[[], Awaitable[bool]]] = {
        "planner": lambda: _grpc_ready(stack.ports.planner),
        "generator": lambda: _grpc_ready(stack.ports.generator),
        "composer": lambda: _grpc_ready(stack.ports.composer),
        "studio": lambda: _grpc_ready(stack.ports.studio),
        "gateway": lambda: _http_ready(f"{stack.gateway_url}/health"),
    }
    while pending:
        for name, proc in stack.processes.items():
            if proc.returncode is not None:
                raise CliError(f"{name} exited with status {proc.returncode} during start-up")
        for name, check in list(pending.items()):
            if await check():
                del pending[name]
        if time.monotonic() > deadline:
            raise CliError(f"not ready after {_READY_TIMEOUT_S:.0f} s: {', '.join(pending)}")
        await asyncio.sleep(0.2)


async def _stop(stack: LocalStack) -> None:
    """SIGTERM every process (gateway first), wait for the drain, then SIGKILL stragglers."""
    for name in reversed(_MODULES):
        proc = stack.processes.get(name)
        if proc and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in stack.processes.values():
        try:
            await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    for pump in stack.pumps:
        pump.cancel()


@contextlib.asynccontextmanager
async def local_stack(
    ports: StackPorts,
    env: Mapping[str, str] | None = None,
    *,
    quiet: bool = False,
    cwd: Path | None = None,
) -> AsyncIterator[LocalStack]:
    """Starts the five processes, waits for readiness, and stops them all on exit."""
    stack = LocalStack(ports)
    environments = stack.environments(env if env is not None else os.environ)
    try:
        for name, module in _MODULES.items():
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module,
                env=environments[name], cwd=cwd,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            stack.processes[name] = proc
            assert proc.stdout is not None
            stack.pumps.append(asyncio.create_task(_pump(name, proc.stdout, quiet)))
        await _wait_ready(stack)
        yield stack
    finally:
        await _stop(stack)


async def stack_up(ports: StackPorts) -> None:
    """Runs the stack in the foreground until Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with local_stack(ports) as stack:
        print(
            f"reelforge stack is up: gateway {stack.gateway_url} (Ctrl-C stops it)", file=sys.stderr
        )
        await stop.wait()
    print("reelforge stack stopped", file=sys.stderr)
