"""SIGKILL a real generator or composer mid-work, start it again on the same SQLite data: it
resumes within seconds, not after the dead process's lease (30 s by default) runs out.

On SQLite the service is the only possible owner of its rows, so a restart takes over its dead
predecessor's leases at once. Before that was so, a restart stalled 30-45 s doing nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2, composer_pb2_grpc, generator_pb2_grpc
from reelforge.v1 import generator_pb2 as pb
from tests.composer.media import make_clip
from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import free_port, wait_until
from tests.reliability.processes import ServiceProcess, hosted_generator_env

# The services' default lease TTL: a restart that waited out the dead owner's lease takes this long.
DEFAULT_LEASE_TTL_S = 30.0
# From "restarted process answers" to "the work moved on": generous for a loaded 2-core machine,
# and well under the TTL, so waiting out the old lease cannot pass.
RESUME_BOUND_S = 12.0


@contextlib.asynccontextmanager
async def _process(name: str, env: dict[str, str], logs: Path) -> AsyncIterator[ServiceProcess]:
    service = ServiceProcess(name, {**env, "PORT": str(free_port())}, free_port(), logs / name)
    service.env["PORT"] = str(service.port)
    try:
        yield service
    finally:
        await service.kill()


async def _sigkill(service: ServiceProcess) -> None:
    assert service.proc is not None
    service.proc.send_signal(signal.SIGKILL)
    assert await service.proc.wait() == -signal.SIGKILL


async def _started(service: ServiceProcess) -> float:
    """Starts the service and waits until it answers; returns when (monotonic seconds)."""
    await service.start()
    await service.ready()
    return time.monotonic()


def _rows(database: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return list(db.execute(query, args).fetchall())


@pytest.mark.timeout(120)
async def test_generator_sigkilled_resumes_its_predictions_within_seconds(
    subprocess_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    async with FakeReplicate(latency_s=2.0) as fake:
        env = hosted_generator_env(subprocess_env, fake, LEASE_TTL_S=str(DEFAULT_LEASE_TTL_S))
        async with _process("generator", env, tmp_path) as service:
            await service.start()
            await service.ready()
            async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
                stub = generator_pb2_grpc.GeneratorServiceStub(channel)
                request = pb.GenerateClipsRequest(
                    clips=[pb.ClipSpec(prompt=f"crash {i}", duration_seconds=1) for i in range(3)]
                )
                job = await stub.GenerateClips(request, timeout=10)

                async def ids_stored() -> bool:
                    got = await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
                    return all(item.prediction_id for item in got.items)

                await wait_until(ids_stored, timeout_s=30, what="every prediction id stored")
            await _sigkill(service)
            # On disk: running items still leased to the dead process, for the whole TTL.
            rows = _rows(
                data_dir / "generator.db",
                "SELECT state, owner, lease_expires_at FROM generator_items WHERE job_id = ?",
                job.id,
            )
            assert {state for state, _, _ in rows} == {"RUNNING"}, rows  # stored by name
            assert all(owner and expires > time.time() + 10 for _, owner, expires in rows), rows

            restarted = await _started(service)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
                stub = generator_pb2_grpc.GeneratorServiceStub(channel)

                async def finished() -> pb.Job | None:
                    got = await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
                    return got if got.state == pb.JOB_STATE_SUCCEEDED else None

                done = await wait_until(finished, timeout_s=60, what="the resumed job")
            took = time.monotonic() - restarted
        assert fake.creates == 3, "resumed items looked their predictions up, never re-created"
    assert all(item.outputs for item in done.items)
    assert took < RESUME_BOUND_S, (
        f"resumed after {took:.1f} s (lease TTL {DEFAULT_LEASE_TTL_S:g} s)"
    )
    print(f"\ngenerator resumed and finished {took:.2f} s after restart")


@pytest.mark.timeout(120)
async def test_composer_sigkilled_mid_render_renders_again_within_seconds(
    subprocess_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    store = ArtifactStore(data_dir / "artifacts")
    clip = await store.put_file(make_clip(tmp_path / "clip.mp4", 1), "video/mp4")
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=clip.id, target_duration_seconds=3)] * 4,
        hold_last_frame=True,
        height=320,
    )
    env = {**subprocess_env, "LEASE_TTL_S": str(DEFAULT_LEASE_TTL_S), "FFMPEG_THREADS": "1"}
    async with _process("composer", env, tmp_path) as service:
        await service.start()
        await service.ready()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = composer_pb2_grpc.ComposerServiceStub(channel)
            composition = await stub.Compose(request, timeout=10)
            get = composer_pb2.GetCompositionRequest(id=composition.id)
            async for seen in stub.WatchComposition(
                composer_pb2.WatchCompositionRequest(id=composition.id), timeout=30
            ):
                if seen.state == composer_pb2.COMPOSITION_STATE_COMPOSING:
                    break
        await _sigkill(service)
        [(state, owner, output)] = _rows(
            data_dir / "composer.db",
            "SELECT state, owner, output_id FROM composer_compositions WHERE id = ?",
            composition.id,
        )
        assert (state, output) == ("COMPOSING", None), (state, output)
        assert owner, "the dead process still holds the lease"

        restarted = await _started(service)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = composer_pb2_grpc.ComposerServiceStub(channel)

            async def completed() -> composer_pb2.Composition | None:
                got = await stub.GetComposition(get, timeout=5)
                return got if got.state == composer_pb2.COMPOSITION_STATE_COMPLETED else None

            done = await wait_until(completed, timeout_s=60, what="the render done again")
        took = time.monotonic() - restarted
    assert abs(done.duration_seconds - (4 * 3 - 3 * 0.5)) < 0.2, done
    assert took < RESUME_BOUND_S, (
        f"rendered after {took:.1f} s (lease TTL {DEFAULT_LEASE_TTL_S:g} s)"
    )
    print(f"\ncomposer rendered again {took:.2f} s after restart")
