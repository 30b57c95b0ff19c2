"""The offline animatic provider through the service: exact clip length, 9:16 frames, music length."""

from __future__ import annotations

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import probe
from reelforge.v1 import generator_pb2 as pb
from tests.generator.helpers import MakeSettings, generator, wait_for_job


async def test_images_clips_and_music_offline(make_settings: MakeSettings) -> None:
    settings = make_settings(replicate_api_token="")  # auto → animatic
    store = ArtifactStore(settings.artifacts_path)
    async with generator(settings) as stub:
        images = pb.GenerateImagesRequest(
            images=[
                pb.ImageSpec(
                    prompt="sunrise over a lake",
                    caption="Wake up",
                    color_palette=["#ff8800", "#223344"],
                )
            ]
        )
        image_job = await wait_for_job(
            stub, (await stub.GenerateImages(images, timeout=5)).id, timeout_s=60
        )
        assert image_job.state == pb.JOB_STATE_SUCCEEDED, image_job.error
        image = image_job.items[0].outputs[0]
        assert (image.mime_type, image.width, image.height) == ("image/png", 180, 320)
        assert image_job.provider == "animatic" and image_job.actual_cost_micros == 0
        assert image_job.items[0].prediction_id == f"animatic-{image_job.items[0].id}"

        request = pb.GenerateClipsRequest(
            clips=[
                pb.ClipSpec(
                    prompt="slow push",
                    image=image.id,
                    duration_seconds=1.0,
                    camera_motion="push in",
                ),
                pb.ClipSpec(prompt="no seed image", duration_seconds=0.7),
            ]
        )
        clip_job = await wait_for_job(
            stub, (await stub.GenerateClips(request, timeout=5)).id, timeout_s=60
        )
        music = pb.GenerateMusicRequest(prompt="calm piano", duration_seconds=1.5)
        music_job = await wait_for_job(
            stub, (await stub.GenerateMusic(music, timeout=5)).id, timeout_s=60
        )
    assert clip_job.state == pb.JOB_STATE_SUCCEEDED, clip_job.error
    frame = 1 / settings.animatic_fps
    for item, wanted in zip(clip_job.items, (1.0, 0.7), strict=True):
        info = await probe(store.path_for(item.outputs[0].id))
        assert (info.width, info.height, info.video_codec) == (180, 320, "h264")
        assert abs(info.duration_seconds - wanted) <= frame + 1e-6
    assert music_job.state == pb.JOB_STATE_SUCCEEDED, music_job.error
    track = await probe(store.path_for(music_job.items[0].outputs[0].id))
    assert track.has_audio and not track.has_video
    assert abs(track.duration_seconds - 1.5) < 0.05
