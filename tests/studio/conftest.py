"""Studio fixtures: the whole stack in-process (offline planner, generator, composer, studio) at
CI size, and a gateway in front of it; the generator is offline (animatic) or hosted on the fake
Replicate, which counts every paid prediction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.fakes.replicate_server import FakeReplicate
from tests.reliability import processes
from tests.reliability.processes import ServiceProcess
from tests.studio.helpers import (
    AiohttpClient,
    Client,
    Stack,
    children,
    gateway_client,
    hosted_generator,
    whole_stack,
)
from tests.studio.processes import studio_process

# Long enough to kill a studio process while the clips run.
SLOW_PREDICTION_S = 2.0


@pytest.fixture
async def stack(data_dir: Path) -> AsyncIterator[Stack]:
    async with whole_stack(data_dir) as running:
        yield running


@pytest.fixture
def studio_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets ServiceProcess start the studio (its table of modules predates the studio)."""
    monkeypatch.setitem(processes.MODULES, "studio", "services.studio")


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(latency_s=0.3) as server:
        yield server


@pytest.fixture
async def hosted_stack(data_dir: Path, fake: FakeReplicate) -> AsyncIterator[Stack]:
    async with whole_stack(data_dir, hosted_generator(fake)) as running:
        yield running


@pytest.fixture
async def make_studio(
    data_dir: Path,
    fake: FakeReplicate,
    subprocess_env: dict[str, str],
    tmp_path: Path,
    studio_module: None,
) -> AsyncIterator[Callable[..., ServiceProcess]]:
    """Makes studio processes (not started; ``label`` names the log, keywords add to the
    environment) calling a planner, hosted generator and composer in this process, whose
    predictions are slow enough to kill a studio while the clips run."""
    fake.latency_s = SLOW_PREDICTION_S
    async with children(data_dir, hosted_generator(fake)) as running:

        def make(label: str, **extra: str) -> ServiceProcess:
            log = tmp_path / f"{label}.log"
            return studio_process(subprocess_env, running.ports, log, **extra)

        yield make


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, stack: Stack) -> Client:
    return await gateway_client(aiohttp_client, stack)


@pytest.fixture
async def hosted_client(aiohttp_client: AiohttpClient, hosted_stack: Stack) -> Client:
    return await gateway_client(aiohttp_client, hosted_stack)
