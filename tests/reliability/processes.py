"""Service processes a test can stop with SIGTERM and start again on the same port and data."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from reelforge.cli.stack import LocalStack, StackPorts
from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import ROOT

MODULES = {
    "planner": "services.planner",
    "generator": "services.generator",
    "composer": "services.composer",
    "gateway": "gateway",
}


def hosted_generator_env(
    base: Mapping[str, str], fake: FakeReplicate, **extra: str
) -> dict[str, str]:
    """A generator process's environment: Replicate is the fake, polling is quick."""
    return {
        **base,
        "VIDEO_PROVIDER": "replicate",
        "REPLICATE_API_TOKEN": fake.token,
        "REPLICATE_BASE_URL": fake.base_url,
        "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "POLL_INITIAL_S": "0.1",
        "POLL_MAX_S": "0.3",
        **extra,
    }


# How long a service process may take to import and start serving. Not what these tests
# measure: it only turns a hung start-up into a failure. At load 29 on 2 cores (the suite beside
# six engineers and bench.load_bench) a planner took over 30 s to answer its first health check.
START_UP_BOUND_S = 120.0


@dataclass
class ServiceProcess:
    """One service as a subprocess; its output goes to ``log`` (kept across restarts)."""

    name: str
    env: dict[str, str]
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    async def start(self) -> None:
        self._log_file = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", MODULES[self.name],
            env=self.env, cwd=ROOT, stdout=self._log_file, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip

    async def ready(self, timeout_s: float = START_UP_BOUND_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not await self._answers():
            assert self.proc is not None and self.proc.returncode is None, (
                f"{self.name} exited during start-up: {self.log.read_text()[-2000:]}"
            )
            assert time.monotonic() < deadline, f"{self.name} not ready after {timeout_s:g} s"
            await asyncio.sleep(0.1)

    async def _answers(self) -> bool:
        if self.name == "gateway":
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session,
                    session.get(f"http://127.0.0.1:{self.port}/health") as answer,
                ):
                    return answer.status == 200
            return False
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            try:
                stub = health_pb2_grpc.HealthStub(channel)
                answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)  # type: ignore[attr-defined]
            except grpc.aio.AioRpcError:
                return False
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def exited(self, timeout_s: float) -> int:
        """The exit status, or fails the test when the process outlives ``timeout_s``."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(
                f"{self.name} still running {timeout_s:g} s after SIGTERM"
            ) from None
        finally:
            if self._log_file is not None:
                self._log_file.close()
        return code

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()


@contextlib.asynccontextmanager
async def service_processes(
    env: Mapping[str, str], logs: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The four services on free ports, started and ready; killed at the end whatever happened."""
    ports = StackPorts.free()
    environments = LocalStack(ports).environments(env)
    services = {
        name: ServiceProcess(name, environments[name], getattr(ports, name), logs / f"{name}.log")
        for name in MODULES
    }
    try:
        for service in services.values():
            await service.start()
        for service in services.values():
            await service.ready()
        yield services
    finally:
        for service in services.values():
            if service.proc is not None and service.proc.returncode is None:
                service.terminate()
        for service in services.values():
            with contextlib.suppress(AssertionError):
                await service.exited(15)
            await service.kill()
