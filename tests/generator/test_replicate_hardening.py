"""The paid path as the real Replicate behaves (issue 11, items 3–9): each test failed before its fix."""

from __future__ import annotations

import pytest

from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import NOT_PERMITTED, FakeReplicate
from tests.generator.helpers import (
    MakeSettings,
    clips,
    generator,
    run_clips,
    submit_until_stored,
    wait_for_job,
)
from tests.helpers import wait_until


async def test_identical_items_and_a_lost_create_pay_once_each(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    # Item A's create answer is lost; item B (same input) is created and its answer comes
    # late. A must not take B's prediction while looking for its own (B then crashed on
    # "UNIQUE constraint failed", both were paid and one output was lost).
    fake.fail("lost-drop", times=1)
    fake.create_answer_delay_s = 1.0
    request = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="same", duration_seconds=3) for _ in range(2)]
    )
    job = await run_clips(make_settings(), request)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.creates == 2, "one paid prediction per item"
    ids = {item.prediction_id for item in job.items}
    assert ids == set(fake.predictions), "every paid prediction is owned by exactly one item"


async def test_a_create_that_never_answers_ends_at_the_deadline(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 3600  # the prediction would run for an hour
    fake.answer_creates = False
    settings = make_settings(replicate_request_timeout_s=300, item_deadline_s=1.5)
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateClips(clips(1), timeout=5)).id)
        await wait_until(lambda: fake.cancels == 1, what="the created prediction canceled")
    assert job.state == pb.JOB_STATE_FAILED
    assert "within 1.5 s" in job.items[0].error, job.items[0].error
    assert fake.creates == 1
    (prediction,) = fake.predictions.values()
    assert job.items[0].prediction_id == prediction.id, "the created prediction was found"
    assert prediction.cancel_after_s is not None and prediction.cancel_after_s >= 5


async def test_an_outage_during_restart_waits_for_running_predictions(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 3600
    settings = make_settings(item_deadline_s=60)
    async with generator(settings) as stub:
        job = await stub.GenerateClips(clips(2), timeout=5)
        await wait_until(lambda: fake.creates == 2, what="2 creates")

        async def ids_stored() -> bool:
            current = await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
            return all(item.prediction_id for item in current.items)

        await wait_until(ids_stored, what="prediction ids stored")
    outage = fake.chaos(1.0, kinds=("500",), calls=("get",))
    async with generator(settings) as stub:
        # Far more failed lookups than RETRY_MAX_ATTEMPTS: the items must still be waiting.
        await wait_until(lambda: outage.injected["get", "500"] >= 15, what="15 failed GETs")
        current = await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
        assert current.state == pb.JOB_STATE_RUNNING, current
        fake.chaos(0.0)
        fake.finish_now()
        done = await wait_for_job(stub, job.id)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert all(item.outputs for item in done.items)
    assert fake.creates == 2


@pytest.mark.parametrize("status", ["canceled", "aborted"])
async def test_a_provider_side_end_fails_the_item_and_retry_runs_it(
    fake: FakeReplicate, make_settings: MakeSettings, status: str
) -> None:
    fake.end_with("clip 0", status)
    async with generator(make_settings()) as stub:
        job = await wait_for_job(stub, (await stub.GenerateClips(clips(2), timeout=5)).id)
        assert job.state == pb.JOB_STATE_FAILED, "CANCELED means canceled by request"
        assert job.items[0].state == pb.ITEM_STATE_FAILED
        assert status in job.items[0].error
        fake.endings.clear()
        await stub.RetryJob(pb.RetryJobRequest(job_id=job.id), timeout=5)
        job = await wait_for_job(stub, job.id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error


@pytest.mark.parametrize("refusal", [401, 403])
async def test_a_refused_token_while_polling_says_so_and_cancels(
    fake: FakeReplicate, make_settings: MakeSettings, refusal: int
) -> None:
    fake.latency_s = 3600
    async with generator(make_settings()) as stub:
        job = await stub.GenerateClips(clips(1), timeout=5)
        await wait_until(lambda: fake.creates == 1, what="the create")
        if refusal == 401:
            fake.token = "r8_revoked"  # every call is refused from now on, cancel included
        else:
            fake.get_refusal = 403  # reads are forbidden, cancel still works
        job = await wait_for_job(stub, job.id)
    error = job.items[0].error
    assert job.state == pb.JOB_STATE_FAILED
    assert "internal error" not in error and f"{refusal}" in error, error
    if refusal == 401:
        assert "API token" in error and "may still be running" in error, error
        assert fake.cancels == 0
    else:
        assert "canceled" in error, error
        assert fake.cancels == 1
        assert next(iter(fake.predictions.values())).status == "canceled"


async def test_a_community_model_is_created_by_its_latest_version(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    assert fake.official_models_only  # creating meta/musicgen by name is refused, as on Replicate
    async with generator(make_settings()) as stub:
        for prompt in ("upbeat synth", "calm piano"):
            request = pb.GenerateMusicRequest(prompt=prompt, duration_seconds=8)
            job = await wait_for_job(stub, (await stub.GenerateMusic(request, timeout=5)).id)
            assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
            assert NOT_PERMITTED not in job.error
    assert fake.version_lookups == 1, "the latest version is looked up once and cached"
    for prediction in fake.predictions.values():
        assert prediction.model == "meta/musicgen" and len(prediction.version) == 64
        # Cancel-After carries the item's deadline (ITEM_DEADLINE_S, 600 s by default).
        assert prediction.cancel_after_s is not None and 590 <= prediction.cancel_after_s <= 600


async def test_429_without_retry_after_honours_the_body_and_a_time_budget(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.rate_limit_reset_s = 1  # the body says "Your rate limit resets in ~1s."
    fake.fail("429", times=3)
    # Counting alone would give up after 2 tries; rate limits are budgeted by time.
    job = await run_clips(make_settings(retry_max_attempts=2), clips(1))
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.create_requests == 4 and fake.creates == 1
    gaps = [b - a for a, b in zip(fake.create_times, fake.create_times[1:], strict=False)]
    assert min(gaps) >= 0.95, f"retried before the announced reset: {gaps}"


async def test_provider_errors_are_one_line(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.fail("422", detail="input.duration: must be\nless than or equal to 12\n\ttry again")
    job = await run_clips(make_settings(), clips(1))
    error = job.items[0].error
    assert job.state == pb.JOB_STATE_FAILED
    assert "\n" not in error and "\t" not in error and "must be less than or equal to 12" in error
    assert "\n" not in job.error


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_prediction_taken_by_another_replica_is_not_a_crash(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    # Two replicas, no webhooks, the same input. Replica 1's create answer is lost; while it
    # looks for its prediction, replica 2's identical one (answer still on its way) is the
    # newest match, so replica 1 takes it. Replica 2 must then adopt the one replica 1 lost
    # (both paid, both used), not crash on the unique prediction id.
    fake.fail("lost-drop", times=1, delay_s=2.0)  # replica 1 learns of the loss after 2 s
    fake.create_answer_delay_s = 4.0  # replica 2's answer comes after 4 s
    request = pb.GenerateClipsRequest(clips=[pb.ClipSpec(prompt="same", duration_seconds=3)])
    settings = make_settings()
    async with generator(settings) as first, generator(settings) as second:
        job_1 = await first.GenerateClips(request, timeout=5)
        await wait_until(lambda: fake.creates == 1, what="replica 1's lost create")
        job_2 = await second.GenerateClips(request, timeout=5)
        done = [await wait_for_job(first, job_1.id), await wait_for_job(second, job_2.id)]
    for job in done:
        assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.creates == 2
    assert {job.items[0].prediction_id for job in done} == set(fake.predictions)
    created_first, created_second = sorted(fake.predictions.values(), key=lambda p: p.created_at)
    assert done[0].items[0].prediction_id == created_second.id, "replica 1 took replica 2's"
    assert done[1].items[0].prediction_id == created_first.id, "replica 2 adopted the lost one"


async def test_outputs_deleted_before_the_download_say_so(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.output_ttl_s = 0.0  # as when a resume comes more than an hour after the end
    job = await run_clips(make_settings(), clips(1))
    error = job.items[0].error
    assert job.state == pb.JOB_STATE_FAILED
    assert "deleted the outputs" in error and "RetryJob" in error, error


async def test_a_refusal_on_resume_says_so_and_cancels(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 3600
    settings = make_settings()
    job = await submit_until_stored(settings, clips(1))
    fake.get_refusal = 403  # the token lost read access while the service was down
    async with generator(settings) as stub:
        done = await wait_for_job(stub, job.id)
    error = done.items[0].error
    assert done.state == pb.JOB_STATE_FAILED
    assert "403" in error and "canceled" in error, error
    assert fake.cancels == 1, "a prediction nobody can read any more is not left running"


async def test_a_list_that_cannot_be_read_is_no_proof_the_lost_create_did_not_happen(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    # The create answer is lost, and then every list read fails for a while (an outage, or
    # unlucky faults on each page and lookup). Giving up the search and creating again would
    # pay twice: the search goes on until it can read, then adopts the lost prediction.
    fake.fail("lost-drop", times=1)
    outage = fake.chaos(1.0, kinds=("500",), calls=("list",))
    settings = make_settings(retry_max_attempts=3, list_consistency_s=0.5)
    async with generator(settings) as stub:
        job = await stub.GenerateClips(clips(1), timeout=5)
        await wait_until(
            lambda: (
                outage.injected["list", "500"] >= 3 * settings.retry_max_attempts
                or fake.creates > 1
            ),
            what="the search to outlast its retries and the consistency window",
        )
        assert fake.creates == 1, "created again while the list could not be read"
        fake.chaos(0.0)  # Replicate reads again
        done = await wait_for_job(stub, job.id)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.items[0].error
    assert fake.creates == 1, "the lost prediction was adopted, not paid for again"
    assert done.items[0].prediction_id in fake.predictions
