"""ResumeAd: a canceled or failed ad continues from the step it stopped at, paying only for the
items that were not done (the fake Replicate counts every paid prediction); a gate waits for
its human again; anything else is refused naming the field or the ad's state, over gRPC and REST."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import json_format

from reelforge.v1 import composer_pb2, studio_pb2, studio_pb2_grpc
from tests.fakes.replicate_server import FakeReplicate
from tests.studio.helpers import Client, Stack, create_ad, watch_ad

_S = studio_pb2
# A camera motion only the third scene's clip prompt carries ("…. Camera: <motion>").
REFUSED_MOTION = "slow spiral zoom"
# Long enough that the clips and the music are still running when the ad is canceled, on a
# loaded machine too: at 2 s, a loaded CI run (load ≈ 18 on 2 cores) saw the music succeed
# before the cancel reached the fake, and paid again on resume (a known limit, see the
# studio README), which is not what this test is about.
SLOW_PREDICTION_S = 6.0
if TYPE_CHECKING:
    from reelforge.v1.studio_pb2_grpc import StudioServiceAsyncStub as Stub


@pytest.fixture
async def stub(hosted_stack: Stack) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{hosted_stack.ports['studio']}") as channel:
        yield studio_pb2_grpc.StudioServiceStub(channel)


async def until(stub: Stub, ad_id: str, stop: Any) -> studio_pb2.Ad:
    async for ad in stub.WatchAd(_S.WatchAdRequest(id=ad_id), timeout=60):
        if stop(ad):
            return ad
    raise AssertionError(f"ad {ad_id}'s watch ended before it got there")


def ended(ad: studio_pb2.Ad) -> bool:
    return ad.state not in (_S.AD_STATE_RUNNING,)


def paid_twice(fake: FakeReplicate) -> list[str]:
    """Inputs the fake made (succeeded) more than once: nothing done may be paid again."""
    made = Counter(
        json.dumps([p.model, p.input], sort_keys=True)
        for p in fake.predictions.values()
        if p.status == "succeeded"
    )
    return [key for key, count in made.items() if count > 1]


def gated_request(**options: Any) -> studio_pb2.CreateAdRequest:
    body = {
        "brief": {
            "productName": "Lumen Bottle",
            "productDescription": "A self-cleaning smart water bottle that glows.",
            "targetAudience": "Busy urban professionals",
            "tone": "energetic",
            "callToAction": "Get yours at lumenbottle.example",
            "durationSeconds": 6,
        },
        "options": {"render": {"height": 320, "fps": 12}, **options},
    }
    return json_format.ParseDict(body, _S.CreateAdRequest())


async def test_a_failed_clip_is_made_again_and_only_it_is_paid(
    stub: Stub, fake: FakeReplicate
) -> None:
    ad = await stub.CreateAd(gated_request(gateStoryboard=True), timeout=30)
    ad = await until(stub, ad.id, lambda a: a.state != _S.AD_STATE_RUNNING)
    assert ad.step == _S.AD_STEP_APPROVE_STORYBOARD, ad.error
    scenes = [
        _S.StoryboardScene(from_scene=i, duration_seconds=s.scene.duration_seconds)
        for i, s in enumerate(ad.storyboard)
    ]
    scenes[2].camera_motion = REFUSED_MOTION
    await stub.UpdateStoryboard(_S.UpdateStoryboardRequest(id=ad.id, scenes=scenes), timeout=30)
    fake.end_with(f"Camera: {REFUSED_MOTION}", "failed")
    await stub.ApproveStoryboard(_S.ApproveStoryboardRequest(id=ad.id), timeout=30)
    failed = await until(stub, ad.id, ended)
    assert (failed.state, failed.step) == (_S.AD_STATE_FAILED, _S.AD_STEP_CLIPS_AND_MUSIC)
    assert "clips job" in failed.error
    creates, spent = fake.creates, failed.actual_cost_micros

    fake.endings.clear()
    resumed = await stub.ResumeAd(_S.ResumeAdRequest(id=ad.id), timeout=30)
    assert (resumed.state, resumed.step, resumed.error) == (
        _S.AD_STATE_RUNNING,
        _S.AD_STEP_CLIPS_AND_MUSIC,
        "",
    )
    final = await until(stub, ad.id, ended)
    assert final.state == _S.AD_STATE_COMPLETED, final.error
    # The four clips, the music and the voice-over that were made came from the generator's
    # cache: the one refused clip is the only new prediction.
    assert fake.creates == creates + 1
    assert not paid_twice(fake)
    # The failed step's record is kept; the resumed one is its own, with new jobs.
    clip_steps = [s for s in final.steps if s.step == _S.AD_STEP_CLIPS_AND_MUSIC]
    assert len(clip_steps) == 2 and clip_steps[0].error and not clip_steps[1].error
    assert not set(clip_steps[0].job_ids) & set(clip_steps[1].job_ids)
    # What the failed step's jobs cost is in the ad's cost: the clips it had made, the music.
    assert final.actual_cost_micros > spent
    assert all(s.clip.id for s in final.storyboard)
    assert final.renders[-1].state == composer_pb2.COMPOSITION_STATE_COMPLETED


async def test_an_ad_canceled_mid_clips_resumes_paying_for_what_was_not_done(
    stub: Stub, fake: FakeReplicate
) -> None:
    fake.latency_s = SLOW_PREDICTION_S
    # Without a voice-over: a cancel while a line's paid audio is being timed loses it (the
    # generator's cancel), which is not what this test is about.
    ad = await stub.CreateAd(gated_request(voice=False), timeout=30)
    running = await until(
        stub,
        ad.id,
        lambda a: a.step == _S.AD_STEP_CLIPS_AND_MUSIC and len(a.steps[-1].job_ids) == 2,
    )
    canceled = await stub.CancelAd(_S.CancelAdRequest(id=ad.id), timeout=30)
    assert canceled.state == _S.AD_STATE_CANCELED
    creates = fake.creates
    fake.latency_s = 0.3
    resumed = await stub.ResumeAd(_S.ResumeAdRequest(id=ad.id), timeout=30)
    assert resumed.state == _S.AD_STATE_RUNNING and resumed.step == _S.AD_STEP_CLIPS_AND_MUSIC
    final = await until(stub, ad.id, ended)
    assert final.state == _S.AD_STATE_COMPLETED, final.error
    assert not paid_twice(fake), "an item done before the cancel was paid again"
    # Made again: the canceled predictions (every clip and the music), nothing else.
    stopped = [p for p in fake.predictions.values() if p.status in ("canceled", "aborted")]
    assert fake.creates - creates == len(stopped) == len(final.storyboard) + 1
    # The seed images were not made again.
    seeds = [s for s in final.steps if s.step == _S.AD_STEP_SEED_IMAGES]
    assert len(seeds) == 1 and seeds[0].job_ids == running.steps[-2].job_ids
    assert [len(s.versions) for s in final.storyboard] == [1] * len(final.storyboard)


async def test_an_ad_canceled_at_a_gate_waits_there_again(stub: Stub) -> None:
    ad = await stub.CreateAd(gated_request(gateMood=True), timeout=30)
    ad = await until(stub, ad.id, lambda a: a.state != _S.AD_STATE_RUNNING)
    assert ad.step == _S.AD_STEP_CHOOSE_MOOD
    await stub.CancelAd(_S.CancelAdRequest(id=ad.id), timeout=30)
    resumed = await stub.ResumeAd(_S.ResumeAdRequest(id=ad.id), timeout=30)
    assert (resumed.state, resumed.step) == (_S.AD_STATE_AWAITING_INPUT, _S.AD_STEP_CHOOSE_MOOD)
    assert [m.id for m in resumed.moods] == [m.id for m in ad.moods]
    # The gate works as before: a mood chosen, the ad runs on.
    chosen = await stub.ChooseMood(
        _S.ChooseMoodRequest(id=ad.id, mood_id=ad.moods[1].id), timeout=30
    )
    assert chosen.state == _S.AD_STATE_RUNNING
    await stub.CancelAd(_S.CancelAdRequest(id=ad.id), timeout=30)


async def test_resume_refuses_what_it_cannot_resume(stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await stub.ResumeAd(_S.ResumeAdRequest(id=""), timeout=30)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "id" in (empty.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.ResumeAd(_S.ResumeAdRequest(id="f" * 32), timeout=30)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    ad = await stub.CreateAd(gated_request(gateMood=True), timeout=30)
    waiting = await until(stub, ad.id, lambda a: a.state != _S.AD_STATE_RUNNING)
    with pytest.raises(grpc.aio.AioRpcError) as at_gate:
        await stub.ResumeAd(_S.ResumeAdRequest(id=ad.id), timeout=30)
    assert at_gate.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "AWAITING_INPUT at step CHOOSE_MOOD" in (at_gate.value.details() or "")
    after = await stub.GetAd(_S.GetAdRequest(id=ad.id), timeout=30)
    assert after.version == waiting.version  # nothing was written
    await stub.CancelAd(_S.CancelAdRequest(id=ad.id), timeout=30)


async def test_rest_resume_answers_json_for_unknown_ids_and_wrong_states(client: Client) -> None:
    missing = await client.post(f"/api/ads/{'f' * 32}/resume", json={})
    assert missing.status == 404
    assert "not found" in (await missing.json())["message"]
    ad = await create_ad(client)
    done = (await watch_ad(client, ad["id"]))[-1]
    assert done["state"] == "AD_STATE_COMPLETED", done.get("error")
    refused = await client.post(f"/api/ads/{ad['id']}/resume", json={})
    assert refused.status == 412
    body = await refused.json()
    assert "COMPLETED" in body["message"] and "CANCELED or FAILED" in body["message"]
    # A canceled one resumes through REST too, and is watched to its end.
    other = await create_ad(
        client, options={"render": {"height": 320, "fps": 12}, "gateMood": True}
    )
    await watch_ad(client, other["id"], {"AD_STATE_AWAITING_INPUT"})
    assert (await client.post(f"/api/ads/{other['id']}/cancel", json={})).status == 200
    resumed = await client.post(f"/api/ads/{other['id']}/resume", json={})
    assert resumed.status == 200, await resumed.text()
    assert (await resumed.json())["state"] == "AD_STATE_AWAITING_INPUT"
    await client.post(f"/api/ads/{other['id']}/cancel", json={})
