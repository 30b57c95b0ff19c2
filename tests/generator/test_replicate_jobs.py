"""Jobs on the Replicate provider against the fake: parallelism, retries, failures, cancel, cost, cache."""

from __future__ import annotations

import pytest

from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import CONTENT_POLICY_ERROR, FakeReplicate
from tests.generator.helpers import MakeSettings, clips, generator, run_clips, wait_for_job
from tests.helpers import wait_until


async def test_seven_clips_run_in_parallel(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 3600  # predictions end only when told: all 7 must be running at once
    async with generator(make_settings()) as stub:
        job = await stub.GenerateClips(clips(7), timeout=5)
        assert job.state == pb.JOB_STATE_PENDING and len(job.items) == 7
        await wait_until(lambda: fake.live == 7, what="7 predictions running at once")
        fake.finish_now()
        done = await wait_for_job(stub, job.id)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert fake.creates == 7 and fake.peak_live == 7
    for item in done.items:
        assert item.outputs[0].mime_type == "video/mp4"
        assert item.outputs[0].width == 180 and item.outputs[0].height == 320
        assert item.prediction_id in fake.predictions


@pytest.mark.parametrize("retry_after", [None, 0.2])
async def test_429_then_success(
    fake: FakeReplicate, make_settings: MakeSettings, retry_after: float | None
) -> None:
    fake.rate_limit_reset_s = 1  # the body says "resets in ~1s"
    fake.fail("429", times=2, retry_after_s=retry_after)
    job = await run_clips(make_settings(), clips(1))
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert job.items[0].attempts == 3
    assert fake.creates == 1 and fake.create_requests == 3


async def test_500_then_success_creates_once(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.fail("500")
    job = await run_clips(make_settings(), clips(1))
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.creates == 1


@pytest.mark.parametrize("kind", ["lost-drop", "lost-500"])
async def test_lost_create_answer_is_reconciled_not_resubmitted(
    fake: FakeReplicate, make_settings: MakeSettings, kind: str
) -> None:
    fake.fail(kind, match="clip 1")
    job = await run_clips(make_settings(), clips(3))
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.creates == 3, "a lost create answer must not lead to a second paid prediction"


async def test_422_fails_only_that_item_and_retry_reruns_it(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.fail("422", match="clip 2")
    async with generator(make_settings()) as stub:
        job = await wait_for_job(stub, (await stub.GenerateClips(clips(3), timeout=5)).id)
        assert job.state == pb.JOB_STATE_FAILED
        failed = [item for item in job.items if item.state == pb.ITEM_STATE_FAILED]
        assert [item.index for item in failed] == [2]
        assert "must be less than or equal to 12" in failed[0].error
        assert failed[0].attempts == 1, "4xx validation errors are never retried"
        assert "clips[2]" in job.error
        creates_before = fake.creates
        outputs_before = [item.outputs[0].id for item in job.items if item.index != 2]

        retried = await stub.RetryJob(pb.RetryJobRequest(job_id=job.id), timeout=5)
        assert retried.items[2].state == pb.ITEM_STATE_QUEUED
        job = await wait_for_job(stub, job.id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.creates == creates_before + 1, "only the failed item runs again"
    assert [item.outputs[0].id for item in job.items if item.index != 2] == outputs_before


@pytest.mark.parametrize(
    ("status", "expected"), [("failed", CONTENT_POLICY_ERROR), ("aborted", "aborted")]
)
async def test_failed_and_aborted_predictions(
    fake: FakeReplicate, make_settings: MakeSettings, status: str, expected: str
) -> None:
    fake.end_with("clip 0", status)
    job = await run_clips(make_settings(), clips(2))
    assert job.state == pb.JOB_STATE_FAILED
    assert expected in job.items[0].error
    assert job.items[0].attempts == 1, "a failed prediction is not resubmitted"
    assert job.items[1].state == pb.ITEM_STATE_SUCCEEDED
    assert fake.creates == 2


async def test_cancel_job_cancels_running_predictions(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 30.0
    async with generator(make_settings()) as stub:
        job = await stub.GenerateClips(clips(3), timeout=5)
        await wait_until(lambda: fake.creates == 3, what="3 creates")
        canceled = await stub.CancelJob(pb.CancelJobRequest(job_id=job.id), timeout=5)
        assert canceled.state == pb.JOB_STATE_CANCELED
        assert {item.state for item in canceled.items} == {pb.ITEM_STATE_CANCELED}
        await wait_until(lambda: fake.cancels == 3, what="3 provider cancels")
    assert all(p.status == "canceled" for p in fake.predictions.values())


async def test_deadline_cancels_the_prediction(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.latency_s = 30.0
    job = await run_clips(make_settings(item_deadline_s=0.5), clips(1))
    assert job.state == pb.JOB_STATE_FAILED
    assert "no result within 0.5 s" in job.items[0].error
    assert fake.cancels == 1


async def test_identical_request_is_served_from_cache(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    async with generator(make_settings()) as stub:
        first = await wait_for_job(stub, (await stub.GenerateClips(clips(1), timeout=5)).id)
        second = await wait_for_job(stub, (await stub.GenerateClips(clips(1), timeout=5)).id)
    assert first.items[0].actual_cost_micros == 54_000  # 3 s × $0.018/s (seedance-1-lite, 480p)
    assert second.items[0].cached and second.items[0].actual_cost_micros == 0
    assert second.items[0].outputs[0].id == first.items[0].outputs[0].id
    assert fake.creates == 1


async def test_images_with_list_output_and_data_uris(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.data_uri_outputs = True
    request = pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt="a red bottle", seed=7)], provider="replicate"
    )
    async with generator(make_settings()) as stub:
        job = await wait_for_job(stub, (await stub.GenerateImages(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert job.model == "black-forest-labs/flux-schnell"
    output = job.items[0].outputs[0]
    assert (output.mime_type, output.width, output.height) == ("image/png", 180, 320)
    sent = next(iter(fake.predictions.values())).input
    assert sent["aspect_ratio"] == "9:16" and sent["seed"] == 7
    assert job.actual_cost_micros == 3_000


async def test_seed_image_artifact_is_sent_as_data_uri(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    async with generator(make_settings()) as stub:
        image_job = await wait_for_job(
            stub,
            (
                await stub.GenerateImages(
                    pb.GenerateImagesRequest(images=[pb.ImageSpec(prompt="x")]), timeout=5
                )
            ).id,
        )
        artifact = image_job.items[0].outputs[0].id
        request = pb.GenerateClipsRequest(
            clips=[pb.ClipSpec(prompt="move", image=artifact, duration_seconds=20)],
            tier=common_pb2.TIER_PRODUCTION,
        )
        job = await wait_for_job(stub, (await stub.GenerateClips(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert job.model == "bytedance/seedance-1-pro-fast"
    sent = fake.predictions[job.items[0].prediction_id].input
    assert sent["image"].startswith("data:image/png;base64,")
    assert sent["duration"] == 12 and sent["resolution"] == "1080p"  # clamped to the model's range


async def test_music_and_pinned_version(fake: FakeReplicate, make_settings: MakeSettings) -> None:
    version = "meta/musicgen:" + "a" * 64
    request = pb.GenerateMusicRequest(prompt="upbeat synth", duration_seconds=8, model=version)
    async with generator(make_settings()) as stub:
        job = await wait_for_job(stub, (await stub.GenerateMusic(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert job.items[0].outputs[0].mime_type == "audio/mp4"
    prediction = fake.predictions[job.items[0].prediction_id]
    assert prediction.model == "meta/musicgen" and prediction.version == "a" * 64
    assert job.items[0].actual_cost_micros == round(0.24 * 1400)  # predict_time × $0.0014/s
