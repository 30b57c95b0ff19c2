"""Two replicas on one PostgreSQL database: a cancel sent to the replica that does not run the
work stops it on the one that does (predictions at the provider, FFmpeg), a webhook delivered to
the other replica wakes the waiting item through ``pg_notify`` (not the 60 s safety poll), and a
replica stopped by SIGTERM hands its leases back so another resumes its work at once."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import grpc
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2, composer_pb2_grpc, generator_pb2_grpc
from reelforge.v1 import generator_pb2 as pb
from services.composer.server import create_server as create_composer
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings
from tests.composer.helpers import composer_settings
from tests.composer.media import make_clip
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import wait_for_job
from tests.grpc_helpers import running_service
from tests.helpers import free_port, wait_until
from tests.reliability.processes import ServiceProcess, hosted_generator_env
from tests.runtime.processes import ffmpeg_pids_under

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LEASE_TTL_S = 1.5
SAFETY_POLL_S = 60.0
# The running replica hears of the cancel at its next heartbeat (TTL/3); slack for a loaded machine.
CANCEL_BOUND_S = LEASE_TTL_S + 10.0
# The services' default TTL: a successor that waited for the lease to expire would take this long.
DEFAULT_LEASE_TTL_S = 30.0
HANDOVER_BOUND_S = 12.0


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
        log_format="text",
        **{"lease_ttl_s": LEASE_TTL_S, **extra},
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
    # The default lease TTL: at load 13 the 1.5 s leases of this module's other tests expired
    # between heartbeats, and the replica without webhooks took the items over and polled them.
    long_lease = {"lease_ttl_s": DEFAULT_LEASE_TTL_S}
    async with (
        FakeReplicate(latency_s=1.0, webhook_secret=SECRET) as fake,
        _replica(_settings(data_dir, pg_url, fake, **long_lease)) as (_, other_port),
        _gateway_to(other_port, data_dir) as gateway_url,
        _replica(_settings(data_dir, pg_url, fake, public_url=gateway_url, **long_lease)) as (
            runs,
            _,
        ),
    ):
        job = await runs.GenerateClips(_clips("wake", 2), timeout=10)
        # Waiting less than the safety poll: only a wake-up through NOTIFY finishes in time.
        done = await wait_for_job(runs, job.id, timeout_s=SAFETY_POLL_S - 10)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 2
    # Each prediction read once, when its wait was woken; polled, it would be read every 0.1-0.3 s.
    assert fake.gets <= fake.creates, fake.gets


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


async def test_sigterm_hands_leases_back_and_another_replica_resumes_at_once(
    pg_url: str, data_dir: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    async with FakeReplicate(latency_s=4.0) as fake:
        port = free_port()
        env = hosted_generator_env(
            subprocess_env,
            fake,
            PORT=str(port),
            DATABASE_URL=pg_url,
            LEASE_TTL_S=str(DEFAULT_LEASE_TTL_S),
            GRACE_PERIOD_S="1",
        )
        leaving = ServiceProcess("generator", env, port, tmp_path / "leaving.log")
        try:
            await leaving.start()
            await leaving.ready()
            async with _replica_process_stub(port) as stub:
                job = await stub.GenerateClips(_clips("handover", 2), timeout=10)

                async def ids_stored() -> bool:
                    got = await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
                    return all(item.prediction_id for item in got.items)

                await wait_until(ids_stored, what="both predictions created")
            leaving.terminate()
            assert await leaving.exited(15) == 0, leaving.log.read_text()[-2000:]
        finally:
            await leaving.kill()
        items = await _item_leases(pg_url, job.id)
        assert items == [("RUNNING", None)] * 2, "still running, lease handed back"

        settings = _settings(data_dir, pg_url, fake, lease_ttl_s=DEFAULT_LEASE_TTL_S)
        started = time.monotonic()
        async with _replica(settings) as (successor, _):
            done = await wait_for_job(successor, job.id, timeout_s=2 * DEFAULT_LEASE_TTL_S)
        took = time.monotonic() - started
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 2, "the successor looked the predictions up"
    assert took < HANDOVER_BOUND_S, f"resumed after {took:.1f} s: waited for the lease to expire?"
    print(f"\nsuccessor finished the handed-over job {took:.2f} s after its start")


async def test_composition_cancelled_at_the_other_replica_stops_its_render(
    pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    store = ArtifactStore(data_dir / "artifacts")
    clip = await store.put_file(make_clip(tmp_path / "clip.mp4", 10), "video/mp4")
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=clip.id)] * 6, height=640
    )
    settings = composer_settings(
        data_dir, database_url=pg_url, lease_ttl_s=LEASE_TTL_S, ffmpeg_threads=1
    )
    async with (
        running_service(create_composer, settings) as (channel_a, _),
        running_service(create_composer, settings) as (channel_b, _),
    ):
        renders = composer_pb2_grpc.ComposerServiceStub(channel_a)
        other = composer_pb2_grpc.ComposerServiceStub(channel_b)
        # The same render uncancelled, for scale: stopping must take a fraction of it.
        started = time.monotonic()
        full = await renders.Compose(request, timeout=10)
        await _until_state(renders, full.id, composer_pb2.COMPOSITION_STATE_COMPLETED)
        full_render_s = time.monotonic() - started

        composition = await renders.Compose(request, timeout=10)
        await _until_state(renders, composition.id, composer_pb2.COMPOSITION_STATE_COMPOSING)
        await wait_until(lambda: ffmpeg_pids_under(data_dir), what="FFmpeg on the first replica")
        canceled = await other.CancelComposition(
            composer_pb2.CancelCompositionRequest(id=composition.id), timeout=10
        )
        assert canceled.state == composer_pb2.COMPOSITION_STATE_CANCELED
        cancel_at = time.monotonic()
        await wait_until(
            lambda: not ffmpeg_pids_under(data_dir), timeout_s=60, what="FFmpeg stopped"
        )
        stopped_s = time.monotonic() - cancel_at
        final = await renders.GetComposition(
            composer_pb2.GetCompositionRequest(id=composition.id), timeout=5
        )
    assert final.state == composer_pb2.COMPOSITION_STATE_CANCELED
    assert not final.output.id, "the rendering replica wrote nothing after the cancel"
    assert stopped_s < full_render_s / 2, (
        f"FFmpeg ran {stopped_s:.1f} s after the cancel (a whole render takes {full_render_s:.1f} s)"
    )
    print(
        f"\nFFmpeg stopped {stopped_s:.2f} s after the cancel; a whole render: {full_render_s:.2f} s"
    )


@contextlib.asynccontextmanager
async def _replica_process_stub(port: int) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield generator_pb2_grpc.GeneratorServiceStub(channel)


async def _item_leases(pg_url: str, job_id: str) -> list[tuple[str, str | None]]:
    conn = await asyncpg.connect(pg_url, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT state, owner FROM generator_items WHERE job_id = $1 ORDER BY idx", job_id
        )
    finally:
        await conn.close()
    return [(row["state"], row["owner"]) for row in rows]


async def _until_state(
    stub: composer_pb2_grpc.ComposerServiceAsyncStub,
    composition_id: str,
    state: composer_pb2.CompositionState.ValueType,
) -> None:
    async def reached() -> bool:
        got = await stub.GetComposition(
            composer_pb2.GetCompositionRequest(id=composition_id), timeout=5
        )
        return bool(got.state == state)

    await wait_until(reached, timeout_s=120, what=composer_pb2.CompositionState.Name(state))
