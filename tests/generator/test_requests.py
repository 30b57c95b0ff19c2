"""Bad requests are refused naming the field; EstimateCost and max_cost_micros; ListJobs pages."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, clips, generator, wait_for_job
from tests.grpc_helpers import field_violations

_CLIP = {"prompt": "p", "duration_seconds": 3.0}


def _clips_request(*specs: dict[str, Any], **fields: Any) -> pb.GenerateClipsRequest:
    return pb.GenerateClipsRequest(clips=[pb.ClipSpec(**spec) for spec in specs], **fields)


BAD_REQUESTS = [
    ("empty prompt", _clips_request({**_CLIP, "prompt": "  "}), "clips[0].prompt"),
    (
        "zero duration",
        _clips_request(_CLIP, _CLIP, {**_CLIP, "duration_seconds": 0}),
        "clips[2].duration_seconds",
    ),
    ("too long", _clips_request({**_CLIP, "duration_seconds": 61}), "clips[0].duration_seconds"),
    ("no clips", _clips_request(), "clips"),
    ("33 clips", _clips_request(*[_CLIP] * 33), "clips"),
    ("unknown model", _clips_request(_CLIP, model="acme/unknown"), "model"),
    ("bad model ref", _clips_request(_CLIP, model="not a model"), "model"),
    ("unknown provider", _clips_request(_CLIP, provider="runway"), "provider"),
    ("image not url", _clips_request({**_CLIP, "image": "ftp://x/y.png"}), "clips[0].image"),
    ("image relative", _clips_request({**_CLIP, "image": "seed.png"}), "clips[0].image"),
    (
        "loopback url",
        _clips_request({**_CLIP, "image": "http://127.0.0.1/x.png"}),
        "clips[0].image",
    ),
    ("private url", _clips_request({**_CLIP, "image": "http://10.1.2.3/x.png"}), "clips[0].image"),
    (
        "metadata url",
        _clips_request({**_CLIP, "image": "http://169.254.169.254/x"}),
        "clips[0].image",
    ),
    ("missing artifact", _clips_request({**_CLIP, "image": "a" * 64}), "clips[0].image"),
]


async def _violations(call: Any) -> list[str]:
    return list(await field_violations(call))


@pytest.mark.parametrize(
    ("request_", "field"), [(r, f) for _, r, f in BAD_REQUESTS], ids=[n for n, _, _ in BAD_REQUESTS]
)
async def test_bad_clip_requests_name_the_field(
    make_settings: MakeSettings, request_: pb.GenerateClipsRequest, field: str
) -> None:
    # Loopback is allowed only in the other tests (the fake); here the guard must refuse it.
    async with generator(make_settings(fetch_allow_networks="")) as stub:
        assert field in await _violations(stub.GenerateClips(request_, timeout=5))


async def test_bad_image_and_music_requests(make_settings: MakeSettings) -> None:
    images = pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt="", color_palette=["red"], reference_images=["x"])]
    )
    music = pb.GenerateMusicRequest(prompt="beat", duration_seconds=181)
    async with generator(make_settings()) as stub:
        fields = await _violations(stub.GenerateImages(images, timeout=5))
        assert {
            "images[0].prompt",
            "images[0].color_palette[0]",
            "images[0].reference_images[0]",
        } <= set(fields)
        assert await _violations(stub.GenerateMusic(music, timeout=5)) == ["duration_seconds"]
        estimate = pb.EstimateCostRequest(clips=_clips_request({**_CLIP, "duration_seconds": -1}))
        assert await _violations(stub.EstimateCost(estimate, timeout=5)) == [
            "clips.clips[0].duration_seconds"
        ]


async def test_estimate_and_cost_limit(fake: FakeReplicate, make_settings: MakeSettings) -> None:
    request = clips(2, duration=5)  # draft: seedance-1-lite 480p, $0.018/s
    async with generator(make_settings()) as stub:
        estimate = await stub.EstimateCost(pb.EstimateCostRequest(clips=request), timeout=5)
        assert estimate.estimated_cost_micros == 2 * 5 * 18_000
        assert estimate.items[0].basis == "5 s × $0.018/s (480p)"
        assert (estimate.provider, estimate.model) == ("replicate", "bytedance/seedance-1-lite")

        request.max_cost_micros = 179_999
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GenerateClips(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert fake.create_requests == 0

        request.max_cost_micros = 180_000
        job = await stub.GenerateClips(request, timeout=5)
        assert job.estimated_cost_micros == 180_000
        images = pb.GenerateImagesRequest(
            images=[pb.ImageSpec(prompt="x")], tier=common_pb2.TIER_PRODUCTION, provider="animatic"
        )
        free = await stub.EstimateCost(pb.EstimateCostRequest(images=images), timeout=5)
        assert free.estimated_cost_micros == 0 and free.model == "animatic/still"
        nano = await stub.EstimateCost(
            pb.EstimateCostRequest(
                images=pb.GenerateImagesRequest(
                    images=[pb.ImageSpec(prompt="x")], tier=common_pb2.TIER_PRODUCTION
                )
            ),
            timeout=5,
        )
        assert (nano.model, nano.estimated_cost_micros) == ("google/nano-banana", 39_000)


async def test_replicate_without_token_is_refused(make_settings: MakeSettings) -> None:
    async with generator(make_settings(replicate_api_token="")) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GenerateClips(_clips_request(_CLIP, provider="replicate"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
async def test_list_jobs_pages_newest_first(
    fake: FakeReplicate, make_settings: MakeSettings, database: str
) -> None:
    fake.latency_s = 0.05
    async with generator(make_settings()) as stub:
        ids = [(await stub.GenerateClips(clips(1, tag=f"job {n}"), timeout=5)).id for n in range(5)]
        for job_id in ids:
            await wait_for_job(stub, job_id)
        seen: list[str] = []
        token = ""
        while True:
            page = await stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=token), timeout=5)
            seen += [job.id for job in page.jobs]
            token = page.next_page_token
            if not token:
                break
        succeeded = await stub.ListJobs(
            pb.ListJobsRequest(state=pb.JOB_STATE_SUCCEEDED, kind=pb.JOB_KIND_CLIPS), timeout=5
        )
        none = await stub.ListJobs(pb.ListJobsRequest(kind=pb.JOB_KIND_MUSIC), timeout=5)
    assert seen == ids[::-1]
    assert len(succeeded.jobs) == 5 and not none.jobs
