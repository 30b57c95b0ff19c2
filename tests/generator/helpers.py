"""Helpers of the generator tests: a running service, job polling, requests, error unpacking."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc

from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.records import TERMINAL_JOB_STATES
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings
from tests.helpers import service_stub, wait_until

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

MakeSettings = Callable[..., GeneratorSettings]


def generator(settings: GeneratorSettings) -> contextlib.AbstractAsyncContextManager[Stub]:
    """A real generator server on port 0 and a stub talking to it over a real channel."""
    return service_stub(create_server, settings, generator_pb2_grpc.GeneratorServiceStub)


async def wait_for_job(stub: Stub, job_id: str, *, timeout_s: float = 60.0) -> pb.Job:
    """Polls GetJob until the job is terminal (or fails the test at the deadline).

    A deadline, not a bound: at load 13 (a loaded CI series) two webhook jobs were still
    RUNNING after the 20 s it used to be.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        # Each read may take what is left of the wait: at load 11-16 on 2 cores an in-process
        # generator busy with FFmpeg children once answered a GetJob after more than 5 s.
        left_s = max(1.0, deadline - time.monotonic())
        job = await stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=left_s)
        if job.state in TERMINAL_JOB_STATES:
            return job
        assert time.monotonic() < deadline, f"job still {pb.JobState.Name(job.state)}: {job}"
        await asyncio.sleep(0.05)


async def run_clips(settings: GeneratorSettings, request: pb.GenerateClipsRequest) -> pb.Job:
    """Runs one clips job on a fresh service until it is terminal, and returns it."""
    async with generator(settings) as stub:
        return await wait_for_job(stub, (await stub.GenerateClips(request, timeout=5)).id)


async def submit_until_stored(
    settings: GeneratorSettings, request: pb.GenerateClipsRequest
) -> pb.Job:
    """Submits a clips job and stops the service once every item has its prediction id stored."""
    async with generator(settings) as stub:
        job = await stub.GenerateClips(request, timeout=5)

        async def ids_stored() -> bool:
            current = await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
            return all(item.prediction_id for item in current.items)

        await wait_until(ids_stored, what="prediction ids stored")
    return job


def clips(count: int, *, duration: float = 3.0, tag: str = "clip") -> pb.GenerateClipsRequest:
    return pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt=f"{tag} {i}", duration_seconds=duration) for i in range(count)]
    )


def rpc_error(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str]:
    return error.code(), error.details() or ""
