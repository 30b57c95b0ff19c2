"""Two generator replicas in this process on one PostgreSQL database: a cancel sent to the replica
that does not run the job stops the predictions on the one that does, and a webhook delivered to
the other replica wakes the waiting item through ``pg_notify`` (not the 60 s safety poll)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.conftest import wait_for_job, wait_until
from tests.grpc_helpers import running_service

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LEASE_TTL_S = 1.5
SAFETY_POLL_S = 60.0
# A wake-up by NOTIFY arrives in well under a second; far below the safety poll it must beat.
WAKE_BOUND_S = 15.0
# The running replica hears of the cancel at its next heartbeat (TTL/3); slack for a loaded machine.
CANCEL_BOUND_S = LEASE_TTL_S + 10.0


def _settings(data_dir: Path, pg_url: str, fake: FakeReplicate, **extra: Any) -> GeneratorSettings:
    return GeneratorSettings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        database_url=pg_url,
        replicate_api_token=fake.token,
        replicate_base_url=fake.base_url,
        replicate_webhook_secret=SECRET,
        fetch_allow_networks="127.0.0.0/8",
        poll_initial_s=0.1,
        poll_max_s=0.3,
        webhook_safety_poll_s=SAFETY_POLL_S,
        lease_ttl_s=LEASE_TTL_S,
        log_format="text",
        **extra,
    )


@contextlib.asynccontextmanager
async def _replica(settings: GeneratorSettings) -> AsyncIterator[tuple[Stub, int]]:
    async with running_service(create_server, settings) as (channel, port):
        yield generator_pb2_grpc.GeneratorServiceStub(channel), port


@contextlib.asynccontextmanager
async def _gateway_to(generator_port: int, data_dir: Path) -> AsyncIterator[str]:
    """A real gateway whose webhook route reaches only the given replica."""
    settings = GatewaySettings(
        planner_address="127.0.0.1:1",
        generator_address=f"127.0.0.1:{generator_port}",
        composer_address="127.0.0.1:1",
        data_dir=data_dir,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        yield str(client.make_url("")).rstrip("/")
    finally:
        await client.close()


async def test_webhook_at_the_other_replica_wakes_the_waiting_item(
    pg_url: str, data_dir: Path
) -> None:
    async with (
        FakeReplicate(latency_s=1.0, webhook_secret=SECRET) as fake,
        _replica(_settings(data_dir, pg_url, fake)) as (_, other_port),
        _gateway_to(other_port, data_dir) as gateway_url,
        _replica(_settings(data_dir, pg_url, fake, public_url=gateway_url)) as (runs, _),
    ):
        started = time.monotonic()
        job = await runs.GenerateClips(_clips("wake", 2), timeout=10)
        done = await wait_for_job(runs, job.id, timeout_s=SAFETY_POLL_S - 10)
        took = time.monotonic() - started
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 2
    assert took < WAKE_BOUND_S, f"finished after {took:.1f} s: woken by the safety poll?"


async def test_cancel_at_the_other_replica_stops_the_running_predictions(
    pg_url: str, data_dir: Path
) -> None:
    async with (
        FakeReplicate(latency_s=120.0) as fake,
        _replica(_settings(data_dir, pg_url, fake)) as (runs, _),
        _replica(_settings(data_dir, pg_url, fake)) as (other, _),
    ):
        job = await runs.GenerateClips(_clips("cancel", 2), timeout=10)

        async def ids_stored() -> bool:
            got = await other.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
            return all(item.prediction_id for item in got.items)

        await wait_until(ids_stored, what="both predictions created")
        canceled = await other.CancelJob(pb.CancelJobRequest(job_id=job.id), timeout=10)
        assert canceled.state == pb.JOB_STATE_CANCELED
        await wait_until(
            lambda: fake.cancels >= 2, timeout_s=CANCEL_BOUND_S, what="provider cancels"
        )
        seen_by_runner = await runs.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
    assert seen_by_runner.state == pb.JOB_STATE_CANCELED
    assert {item.state for item in seen_by_runner.items} == {pb.ITEM_STATE_CANCELED}
    assert fake.creates == 2


def _clips(tag: str, count: int) -> pb.GenerateClipsRequest:
    return pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt=f"{tag} {i}", duration_seconds=1) for i in range(count)]
    )
