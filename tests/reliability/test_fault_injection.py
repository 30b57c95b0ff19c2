"""Nothing is lost or paid twice when Replicate answers 429, 500, slowly or not at all (at random)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reelforge.v1 import generator_pb2 as pb
from services.generator.records import TERMINAL_JOB_STATES
from services.generator.settings import GeneratorSettings
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import generator

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

JOBS = 50
FAULT_RATE = 0.2
CLIENT_TIMEOUT_S = 1.0
SLOW_ANSWER_S = 1.6  # beyond the client's timeout: the answer is as good as lost


def _request(job: int) -> pb.GenerateImagesRequest:
    # Distinct prompts: no item may be served from another's cache, so each must be created once.
    count = 1 + job % 2
    return pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt=f"chaos job {job} image {k}") for k in range(count)]
    )


async def _wait_all_terminal(stub: Stub, job_ids: list[str], timeout_s: float) -> list[pb.Job]:
    """Polls every job until all are terminal (one GetJob per pending job per round)."""
    deadline = time.monotonic() + timeout_s
    finals: dict[str, pb.Job] = {}
    while len(finals) < len(job_ids):
        pending = [job_id for job_id in job_ids if job_id not in finals]
        # Each read may take what is left of the wait: at load 13-17 on 2 cores this process (the
        # fake, the generator and the test share one loop) once answered a GetJob after > 10 s.
        left_s = max(1.0, deadline - time.monotonic())
        answers = await asyncio.gather(
            *(stub.GetJob(pb.GetJobRequest(job_id=j), timeout=left_s) for j in pending)
        )
        finals.update({job.id: job for job in answers if job.state in TERMINAL_JOB_STATES})
        if len(finals) < len(job_ids):
            stuck = [pb.JobState.Name(j.state) for j in answers if j.id not in finals]
            assert time.monotonic() < deadline, f"{len(stuck)} jobs not terminal: {Counter(stuck)}"
            await asyncio.sleep(0.25)
    return [finals[job_id] for job_id in job_ids]


@pytest.mark.timeout(120)
async def test_random_faults_lose_no_job_and_pay_each_item_once(data_dir: Path) -> None:
    async with FakeReplicate(latency_s=0.2) as fake:
        tally = fake.chaos(FAULT_RATE, seed=20240808, slow_s=SLOW_ANSWER_S)
        settings = GeneratorSettings(
            host="127.0.0.1",
            port=0,
            data_dir=data_dir,
            replicate_api_token=fake.token,
            replicate_base_url=fake.base_url,
            fetch_allow_networks="127.0.0.0/8",
            replicate_request_timeout_s=CLIENT_TIMEOUT_S,
            replicate_creates_per_minute=60_000,
            poll_initial_s=0.05,
            poll_max_s=0.2,
            retry_base_s=0.05,
            retry_max_s=0.4,
            # Every injected fault is recoverable: enough tries that no item's luck runs out
            # (at a 20 % fault rate, 20 failures in a row happen once in 10^14 tries).
            retry_max_attempts=20,
            item_deadline_s=45.0,
            log_format="text",
        )
        started = time.monotonic()
        async with generator(settings) as stub:
            submitted = await asyncio.gather(
                *(stub.GenerateImages(_request(job), timeout=10) for job in range(JOBS))
            )
            jobs = await _wait_all_terminal(stub, [job.id for job in submitted], timeout_s=75)
        elapsed = time.monotonic() - started
        creates, create_requests = fake.creates, fake.create_requests
        created_prompts = Counter(str(p.input.get("prompt")) for p in fake.predictions.values())

    items = [item for job in jobs for item in job.items]
    states = Counter(pb.JobState.Name(job.state) for job in jobs)
    print(
        f"\n{JOBS} jobs / {len(items)} items in {elapsed:.1f} s: {dict(states)}; "
        f"creates {creates}, create requests {create_requests}; injected {dict(tally.injected)}"
    )
    # The faults really happened, on creates and on reads, in every kind.
    for kind in ("429", "500", "slow", "lost"):
        assert tally.injected["create", kind] > 0, f"no create {kind} injected: {tally.injected}"
    assert tally.injected["get", "lost"] + tally.injected["get", "slow"] > 0

    # Every job ended, and succeeded: every injected fault was waited out or reconciled.
    for job in jobs:
        assert job.state == pb.JOB_STATE_SUCCEEDED, job
    succeeded = [item for item in items if item.state == pb.ITEM_STATE_SUCCEEDED]
    assert all(item.outputs and item.prediction_id for item in succeeded)
    assert len(succeeded) == len(items), f"only {len(succeeded)}/{len(items)} succeeded"

    # Paid once: each created prediction belongs to exactly one item, no prompt was created twice,
    # and every create beyond the items is a request the fake refused before creating anything.
    claimed = [item.prediction_id for item in items if item.prediction_id]
    assert len(claimed) == len(set(claimed))
    assert creates == len(claimed), "a prediction was created that no item owns (paid twice?)"
    assert max(created_prompts.values()) == 1, created_prompts.most_common(3)
    refused = tally.injected["create", "429"] + tally.injected["create", "500"]
    assert create_requests == creates + refused
