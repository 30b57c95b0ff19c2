"""Studio fixtures: the whole stack in-process (offline planner, generator, composer, studio) at
CI size, and a gateway in front of it; the generator is offline (animatic) or hosted on the fake
Replicate, which counts every paid prediction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.replicate_server import FakeReplicate
from tests.reliability import processes
from tests.studio.helpers import (
    AiohttpClient,
    Client,
    Stack,
    gateway_client,
    hosted_generator,
    whole_stack,
)


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
async def client(aiohttp_client: AiohttpClient, stack: Stack) -> Client:
    return await gateway_client(aiohttp_client, stack)


@pytest.fixture
async def hosted_client(aiohttp_client: AiohttpClient, hosted_stack: Stack) -> Client:
    return await gateway_client(aiohttp_client, hosted_stack)
