"""A generator killed mid-job (SIGKILL) resumes on restart without paying for any prediction twice."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.settings import GeneratorSettings
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, clips, wait_for_job
from tests.helpers import ROOT, free_port, wait_until

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

# A deadline for steps that must happen, not a pass bound (resume speed is
# tests/reliability/test_crash_resume.py's claim).
STEP_DEADLINE_S = 60.0


def _env(settings: GeneratorSettings, base: dict[str, str], port: int) -> dict[str, str]:
    env = dict(base)
    for name, value in settings.model_dump(exclude_none=True).items():
        env[name.upper()] = str(value)
    env["PORT"] = str(port)
    return env


@contextlib.asynccontextmanager
async def generator_process(
    settings: GeneratorSettings, base_env: dict[str, str]
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Stub]]:
    """`python -m services.generator` as its own process, with a channel to it."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.generator", cwd=ROOT, env=_env(settings, base_env, port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), 30)
            yield proc, generator_pb2_grpc.GeneratorServiceStub(channel)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL


async def _items(stub: Stub, job_id: str) -> list[pb.JobItem]:
    return list((await stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=5)).items)


async def test_sigkill_while_running_then_restart_completes_without_new_creates(
    fake: FakeReplicate, make_settings: MakeSettings, subprocess_env: dict[str, str]
) -> None:
    fake.latency_s = 3600  # predictions end only when the test says so
    settings = make_settings()
    async with generator_process(settings, subprocess_env) as (proc, stub):
        job = await stub.GenerateClips(clips(4), timeout=10)

        async def all_ids_stored() -> bool:
            return all(item.prediction_id for item in await _items(stub, job.id))

        await wait_until(all_ids_stored, what="every prediction id stored")
        await _kill(proc)
    assert fake.creates == 4
    assert not any(p.terminal for p in fake.predictions.values()), "killed while they ran"
    async with generator_process(settings, subprocess_env) as (_, stub):
        fake.finish_now()
        done = await wait_for_job(stub, job.id, timeout_s=STEP_DEADLINE_S)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 4, "resumed items looked their predictions up instead of creating them"


async def test_sigkill_during_a_lost_create_then_restart_reconciles(
    fake: FakeReplicate, make_settings: MakeSettings, subprocess_env: dict[str, str]
) -> None:
    fake.latency_s = 1.0
    fake.fail("lost-hang", match="clip 1")  # created at the fake, but the answer never comes
    settings = make_settings(replicate_request_timeout_s=60)
    async with generator_process(settings, subprocess_env) as (proc, stub):
        job = await stub.GenerateClips(clips(3), timeout=10)

        async def stuck_in_submitting() -> bool:
            items = await _items(stub, job.id)
            return fake.creates == 3 and items[1].state == pb.ITEM_STATE_SUBMITTING

        await wait_until(stuck_in_submitting, what="item 1 submitting with its create answer lost")
        assert not (await _items(stub, job.id))[1].prediction_id
        await _kill(proc)
    async with generator_process(settings, subprocess_env) as (_, stub):
        done = await wait_for_job(stub, job.id, timeout_s=STEP_DEADLINE_S)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 3, "the lost prediction was found, not created again"
