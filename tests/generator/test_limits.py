"""Concurrency limits observed where they matter: at the provider. MAX_PARALLEL_ITEMS and
MAX_PARALLEL_PER_MODEL bound the predictions running at the fake Replicate at once, and the
bound is actually reached (the limit is the throughput, not an accident of timing)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from reelforge.runtime.tasks import cancel_and_wait
from reelforge.v1 import generator_pb2 as pb
from services.generator.limits import RateLimiter
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, clips, generator, wait_for_job

# Each prediction runs this long, so a pair running together is seen by the sampler many times
# over and an excess could not slip between two samples.
PREDICTION_S = 1.0
JOB_DEADLINE_S = 60.0  # a deadline for the jobs to end (fails instead of hanging), not a bound


@dataclass
class Peaks:
    """The most predictions seen running at the fake at once, overall and per model."""

    overall: int = 0
    per_model: Counter[str] = field(default_factory=Counter)


@contextlib.asynccontextmanager
async def sampled(fake: FakeReplicate) -> AsyncIterator[Peaks]:
    peaks = Peaks()

    async def sample() -> None:
        while True:
            running = Counter(p.model for p in fake.predictions.values() if not p.terminal)
            peaks.overall = max(peaks.overall, sum(running.values()))
            for model, count in running.items():
                peaks.per_model[model] = max(peaks.per_model[model], count)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(sample())
    try:
        yield peaks
    finally:
        await cancel_and_wait([task])


def images(count: int) -> pb.GenerateImagesRequest:
    return pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt=f"image {i}") for i in range(count)]
    )


async def test_max_parallel_items_bounds_the_running_predictions(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = PREDICTION_S
    settings = make_settings(max_parallel_items=2, max_parallel_per_model=16)
    async with generator(settings) as stub, sampled(fake) as peaks:
        jobs = [await stub.GenerateClips(clips(3, tag=f"job {j}"), timeout=5) for j in range(2)]
        done = [await wait_for_job(stub, job.id, timeout_s=JOB_DEADLINE_S) for job in jobs]
    assert [job.state for job in done] == [pb.JOB_STATE_SUCCEEDED] * 2
    assert fake.creates == 6
    assert peaks.overall == 2, peaks  # never more, and the limit was used


@pytest.mark.parametrize("per_model", [1, 2])
async def test_max_parallel_per_model_bounds_each_model_not_the_total(
    fake: FakeReplicate, make_settings: MakeSettings, per_model: int
) -> None:
    fake.latency_s = PREDICTION_S
    settings = make_settings(max_parallel_items=32, max_parallel_per_model=per_model)
    async with generator(settings) as stub, sampled(fake) as peaks:
        jobs = [await stub.GenerateClips(clips(3), timeout=5), await stub.GenerateImages(images(3))]
        done = [await wait_for_job(stub, job.id, timeout_s=JOB_DEADLINE_S) for job in jobs]
    assert [job.state for job in done] == [pb.JOB_STATE_SUCCEEDED] * 2
    assert len(peaks.per_model) == 2, peaks  # clips and images use different models
    assert set(peaks.per_model.values()) == {per_model}, peaks
    # Both models at their limit together: the per-model limit does not cap the total.
    assert peaks.overall == 2 * per_model, peaks


async def test_the_create_rate_limit_holds_in_every_window() -> None:
    # REPLICATE_CREATES_PER_MINUTE as a RateLimiter: at most `calls` in any `period_s` window.
    calls, period_s = 3, 0.4
    limiter = RateLimiter(calls, period_s)
    stamps = []
    for _ in range(3 * calls):
        await limiter.acquire()
        stamps.append(time.monotonic())
    # Any calls + 1 consecutive acquisitions span at least one whole period (load only slows).
    spans = [stamps[i + calls] - stamps[i] for i in range(len(stamps) - calls)]
    assert min(spans) >= period_s * 0.999, spans
    assert stamps[calls - 1] - stamps[0] < period_s, "the first `calls` were not held back"
