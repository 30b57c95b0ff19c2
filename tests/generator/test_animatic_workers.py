"""ANIMATIC_WORKERS observed where it matters: the offline clips' FFmpeg processes running at
once never exceed it, and it is reached (the items do not queue behind one encoder)."""

from __future__ import annotations

import pytest

from reelforge.v1 import generator_pb2 as pb
from tests.generator.helpers import MakeSettings, generator, wait_for_job
from tests.runtime.processes import peak_ffmpeg

CLIPS = 3


@pytest.mark.parametrize("workers", [1, 2])
async def test_offline_clip_encodes_at_once_never_exceed_the_workers_and_reach_them(
    make_settings: MakeSettings, workers: int
) -> None:
    settings = make_settings(replicate_api_token="", animatic_workers=workers)
    request = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt=f"scene {n}", duration_seconds=1.0) for n in range(CLIPS)]
    )
    async with generator(settings) as stub, peak_ffmpeg(settings.data_dir, workers) as peak:
        job = await wait_for_job(
            stub, (await stub.GenerateClips(request, timeout=5)).id, timeout_s=300
        )
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert peak[0] == workers, f"peak of {peak[0]} clip encodes at once, {workers} workers"
