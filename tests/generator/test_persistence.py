"""Jobs survive a restart of the service on SQLite and on PostgreSQL; resumed items never re-create."""

from __future__ import annotations

import time

import pytest

from reelforge.v1 import generator_pb2 as pb
from services.generator.webhooks import signature_for
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import (
    WEBHOOK_SECRET,
    MakeSettings,
    clips,
    generator,
    submit_until_stored,
    wait_for_job,
)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
async def test_restart_resumes_by_lookup(fake: FakeReplicate, make_settings: MakeSettings) -> None:
    fake.latency_s = 1.5
    settings = make_settings()
    job = await submit_until_stored(settings, clips(3))
    # The service stopped mid-job; a new one on the same database finishes it.
    async with generator(settings) as stub:
        done = await wait_for_job(stub, job.id)
        listed = await stub.ListJobs(pb.ListJobsRequest(), timeout=5)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 3
    assert [j.id for j in listed.jobs] == [job.id]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
async def test_webhook_ids_and_failures_persist(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.fail("422", match="clip 0")
    settings = make_settings(replicate_webhook_secret=WEBHOOK_SECRET)
    body = b'{"id": "p-persist", "status": "succeeded", "model": "m/n", "version": "hidden"}'
    timestamp = str(int(time.time()))
    headers = {
        "webhook-id": "msg_persist",
        "webhook-timestamp": timestamp,
        "webhook-signature": signature_for(WEBHOOK_SECRET, "msg_persist", timestamp, body),
    }
    delivery = pb.HandleProviderWebhookRequest(provider="replicate", headers=headers, body=body)
    async with generator(settings) as stub:
        failed = await wait_for_job(stub, (await stub.GenerateClips(clips(1), timeout=5)).id)
        first = await stub.HandleProviderWebhook(delivery, timeout=5)
    async with generator(settings) as stub:
        # The same delivery after a restart is recognised: its id was stored, not kept in memory.
        replayed = await stub.HandleProviderWebhook(delivery, timeout=5)
        again = await stub.GetJob(pb.GetJobRequest(job_id=failed.id), timeout=5)
        retried = await wait_for_job(
            stub, (await stub.RetryJob(pb.RetryJobRequest(job_id=failed.id), timeout=5)).id
        )
    assert (first.accepted, first.duplicate) == (True, False)
    assert (replayed.accepted, replayed.duplicate) == (True, True)
    assert again == failed and again.state == pb.JOB_STATE_FAILED
    assert retried.state == pb.JOB_STATE_SUCCEEDED
