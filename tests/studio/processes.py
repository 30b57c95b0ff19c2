"""The studio as a real process (kill -9, restart, replicas) beside children in this process,
and the gRPC calls the process tests make on it."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from reelforge.v1 import studio_pb2, studio_pb2_grpc
from tests.helpers import free_port
from tests.reliability.processes import ServiceProcess
from tests.studio.helpers import BRIEF, RENDER, TERMINAL, paid_items

_S = studio_pb2
_TERMINAL = {_S.AdState.Value(name) for name in TERMINAL}


def studio_process(
    base: Mapping[str, str], children: Mapping[str, int], log: Path, **extra: str
) -> ServiceProcess:
    """A studio process (not started) on a free port, calling the children on ``children``."""
    port = free_port()
    env = {
        **base,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PLANNER_ADDRESS": f"127.0.0.1:{children['planner']}",
        "GENERATOR_ADDRESS": f"127.0.0.1:{children['generator']}",
        "COMPOSER_ADDRESS": f"127.0.0.1:{children['composer']}",
        "RETRY_INTERVAL_S": "0.2",
        "LOG_FORMAT": "text",
        **extra,
    }
    return ServiceProcess("studio", env, port, log)


@contextlib.asynccontextmanager
async def started(*studios: ServiceProcess) -> AsyncIterator[None]:
    """Starts the processes, ready; kills whatever still runs at the end."""
    try:
        for studio in studios:
            await studio.start()
        for studio in studios:
            await studio.ready()
        yield
    finally:
        for studio in studios:
            await studio.kill()


async def sigkill(studio: ServiceProcess) -> None:
    assert studio.proc is not None
    studio.proc.send_signal(signal.SIGKILL)
    assert await studio.proc.wait() == -signal.SIGKILL


@contextlib.asynccontextmanager
async def studio_stub(
    studio: ServiceProcess,
) -> AsyncIterator[studio_pb2_grpc.StudioServiceAsyncStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{studio.port}") as channel:
        yield studio_pb2_grpc.StudioServiceStub(channel)


def create_request(**options: Any) -> studio_pb2.CreateAdRequest:
    body = {"brief": BRIEF, "options": {"render": RENDER, **options}}
    return json_format.ParseDict(body, studio_pb2.CreateAdRequest())


async def watch_until(
    stub: studio_pb2_grpc.StudioServiceAsyncStub,
    ad_id: str,
    stop: Callable[[studio_pb2.Ad], bool] = lambda ad: ad.state in _TERMINAL,
) -> list[studio_pb2.Ad]:
    """WatchAd's snapshots up to the first one ``stop`` accepts (by default a terminal one)."""
    seen: list[studio_pb2.Ad] = []
    async for ad in stub.WatchAd(studio_pb2.WatchAdRequest(id=ad_id), timeout=60):
        seen.append(ad)
        if stop(ad):
            return seen
    raise AssertionError(f"the watch ended before it should: last {seen[-1] if seen else None}")


def clips_running(ad: studio_pb2.Ad) -> bool:
    """Mid-clips: the clips and music jobs are started and their ids saved."""
    return ad.step == _S.AD_STEP_CLIPS_AND_MUSIC and len(ad.steps[-1].job_ids) == 2


async def kill_mid_clips(
    runner: ServiceProcess,
    create_on: studio_pb2_grpc.StudioServiceAsyncStub,
    watch_on: studio_pb2_grpc.StudioServiceAsyncStub,
) -> list[studio_pb2.Ad]:
    """Creates an ad (on ``runner``), watches it until mid-clips, kills ``runner`` with
    SIGKILL; returns the snapshots seen."""
    ad = await create_on.CreateAd(create_request(), timeout=30)
    seen = await watch_until(watch_on, ad.id, clips_running)
    await sigkill(runner)
    return seen


def assert_completed_on_the_same_jobs(
    final: studio_pb2.Ad, at_kill: studio_pb2.Ad, creates: int
) -> None:
    """The ad completed re-attached to the clips and music jobs on record at the kill, and the
    fake Replicate created each prediction once."""
    assert final.state == _S.AD_STATE_COMPLETED, final.error
    clips_step = next(s for s in final.steps if s.step == _S.AD_STEP_CLIPS_AND_MUSIC)
    assert list(clips_step.job_ids) == list(at_kill.steps[-1].job_ids)
    assert creates == paid_items(json_format.MessageToDict(final)), "an item was paid twice"
