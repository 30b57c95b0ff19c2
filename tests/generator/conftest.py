"""Fixtures of the generator tests: the fake Replicate, settings, databases, a running service."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from sqlalchemy.exc import SQLAlchemyError

from reelforge.runtime.database import create_engine, database_url
from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.records import TERMINAL_JOB_STATES
from services.generator.repository import Repository
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings
from tests.conftest import postgres_unreachable
from tests.fakes.replicate_server import FakeReplicate
from tests.grpc_helpers import running_service

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

MakeSettings = Callable[..., GeneratorSettings]


async def _postgres_reachable() -> bool:
    engine = create_engine(database_url(POSTGRES_URL, Path("."), "generator"))
    try:
        async with asyncio.timeout(3), engine.connect():
            return True
    except (OSError, TimeoutError, SQLAlchemyError):
        return False
    finally:
        await engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(latency_s=0.3) as server:
        yield server


@pytest.fixture(params=["sqlite"])
def database(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_settings(
    data_dir: Path, fake: FakeReplicate, database: str
) -> AsyncIterator[MakeSettings]:
    """Settings pointing at the fake, with fast polling and a table prefix unique to the test."""
    prefix = f"generator_t{uuid.uuid4().hex[:10]}_"
    url = None
    if database == "postgresql":
        if not await _postgres_reachable():
            postgres_unreachable()
        url = POSTGRES_URL

    def make(**overrides: Any) -> GeneratorSettings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "data_dir": data_dir,
            "database_url": url,
            "generator_table_prefix": prefix,
            "replicate_api_token": fake.token,
            "replicate_base_url": fake.base_url,
            "fetch_allow_networks": "127.0.0.0/8",
            "poll_initial_s": 0.05,
            "poll_max_s": 0.2,
            "retry_base_s": 0.05,
            "retry_max_s": 0.5,
            "replicate_request_timeout_s": 5.0,
            "animatic_draft_height": 320,
            "animatic_fps": 10,
            "log_format": "text",
            **overrides,
        }
        return GeneratorSettings(**values)

    yield make
    # Leave the shared PostgreSQL database as it was.
    engine = create_engine(database_url(url, data_dir, "generator"))
    await Repository(engine, prefix).drop_schema()
    await engine.dispose()


@contextlib.asynccontextmanager
async def generator(
    settings: GeneratorSettings,
) -> AsyncIterator[Stub]:
    async with running_service(create_server, settings) as (channel, _port):
        yield generator_pb2_grpc.GeneratorServiceStub(channel)


async def wait_for_job(stub: Stub, job_id: str, *, timeout_s: float = 20.0) -> pb.Job:
    """Polls GetJob until the job is terminal (or fails the test at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = await stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=5)
        if job.state in TERMINAL_JOB_STATES:
            return job
        assert time.monotonic() < deadline, f"job still {pb.JobState.Name(job.state)}: {job}"
        await asyncio.sleep(0.05)


async def wait_until(
    condition: Callable[[], Any], *, timeout_s: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await _value(condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        await asyncio.sleep(0.05)


async def _value(result: Any) -> Any:
    return await result if asyncio.iscoroutine(result) else result


def clips(count: int, *, duration: float = 3.0, tag: str = "clip") -> pb.GenerateClipsRequest:
    return pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt=f"{tag} {i}", duration_seconds=duration) for i in range(count)]
    )


def rpc_error(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str]:
    return error.code(), error.details() or ""
