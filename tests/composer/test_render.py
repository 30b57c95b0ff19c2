"""Rendered ads have the length, size, codecs, layout and sound a client asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import probe
from reelforge.v1 import common_pb2, composer_pb2, composer_pb2_grpc
from tests.composer.helpers import Media, compose_and_wait, put
from tests.composer.media import pcm, rms, top_level_boxes

if TYPE_CHECKING:
    Stub = composer_pb2_grpc.ComposerServiceAsyncStub
COMPLETED = composer_pb2.COMPOSITION_STATE_COMPLETED


async def test_three_clips_with_music(stub: Stub, store: ArtifactStore, media: Media) -> None:
    clip, music = await put(store, media.clip_1s), await put(store, media.music)
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=clip)] * 3, music=music, height=320, fps=24
    )
    done = await compose_and_wait(stub, request)

    assert done.state == COMPLETED, done.error
    assert done.percent == 100
    path = store.path_for(done.output.id)
    info = await probe(path)
    assert abs(info.duration_seconds - (3 - 2 * 0.5)) <= 1 / 24 + 0.03
    assert (info.width, info.height) == (180, 320)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (done.width, done.height, done.video_codec, done.audio_codec) == (
        180,
        320,
        "h264",
        "aac",
    )
    assert done.output.size_bytes == path.stat().st_size == done.size_bytes
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")
    # The music fades out over the last second: its last half second is clearly quieter.
    sound, rate = pcm(path), 8000
    middle = sound[int(0.75 * rate) : int(1.25 * rate)]
    assert rms(sound[-rate // 2 :]) < 0.5 * rms(middle)


async def test_exact_length_from_targets(stub: Stub, store: ArtifactStore, media: Media) -> None:
    clip = await put(store, media.clip_2s)
    targets = (1.5, 1.25, 1.5)
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=clip, target_duration_seconds=t) for t in targets],
        transition_seconds=0.25,
        height=320,
        fps=24,
    )
    done = await compose_and_wait(stub, request)

    assert done.state == COMPLETED, done.error
    assert abs(done.duration_seconds - 3.75) <= 1 / 24 + 0.01
    assert done.audio_codec == ""  # no music and silent clips: no audio track at all


async def test_unaligned_targets_still_give_the_exact_frame_count(
    stub: Stub, store: ArtifactStore, media: Media
) -> None:
    # 1.4167 s at 12 fps is 17.0 frames; six of them with 0.5 s fades make exactly 6 s.
    clip = await put(store, media.clip_2s)
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=clip, target_duration_seconds=1.4167)] * 6,
        height=320,
        fps=12,
    )
    done = await compose_and_wait(stub, request)

    assert done.state == COMPLETED, done.error
    assert abs(done.duration_seconds - 6.0) <= 1 / 12 + 0.001


async def test_short_clip_is_held_on_its_last_frame(
    stub: Stub, store: ArtifactStore, media: Media
) -> None:
    short, toned = await put(store, media.clip_1s), await put(store, media.clip_1s_tone)
    request = composer_pb2.ComposeRequest(
        clips=[
            composer_pb2.ClipInput(source=short, target_duration_seconds=2),
            composer_pb2.ClipInput(source=toned),
        ],
        hold_last_frame=True,
        height=320,
    )
    done = await compose_and_wait(stub, request)

    assert done.state == COMPLETED, done.error
    assert abs(done.duration_seconds - 2.5) <= 1 / 30 + 0.03
    # The second clip's own tone comes through (crossfaded in over the transition).
    sound, rate = pcm(store.path_for(done.output.id)), 8000
    assert rms(sound[-rate // 2 :]) > 0.05 > rms(sound[: rate // 2])


async def test_landscape_and_square_frames(stub: Stub, store: ArtifactStore, media: Media) -> None:
    clip = await put(store, media.clip_1s)
    sizes = {}
    for aspect in (common_pb2.ASPECT_RATIO_16_9, common_pb2.ASPECT_RATIO_1_1):
        request = composer_pb2.ComposeRequest(
            clips=[composer_pb2.ClipInput(source=clip)] * 2, aspect_ratio=aspect, height=180
        )
        done = await compose_and_wait(stub, request)
        assert done.state == COMPLETED, done.error
        sizes[aspect] = (done.width, done.height)
    assert sizes == {
        common_pb2.ASPECT_RATIO_16_9: (320, 180),
        common_pb2.ASPECT_RATIO_1_1: (180, 180),
    }


async def test_max_size_bytes_is_respected(stub: Stub, store: ArtifactStore, media: Media) -> None:
    clip, music = await put(store, media.clip_2s), await put(store, media.music)
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=clip)] * 2, music=music, height=640
    )
    free = await compose_and_wait(stub, request)
    assert free.state == COMPLETED, free.error

    request.max_size_bytes = free.size_bytes // 2
    bounded = await compose_and_wait(stub, request)

    assert bounded.state == COMPLETED, bounded.error
    assert bounded.size_bytes <= request.max_size_bytes
    assert store.path_for(bounded.output.id).stat().st_size <= request.max_size_bytes
    assert abs(bounded.duration_seconds - free.duration_seconds) < 0.05


async def test_corrupt_input_fails_naming_the_clip(
    stub: Stub, store: ArtifactStore, media: Media
) -> None:
    good = await put(store, media.clip_1s)
    bad = (await store.put_file(media.corrupt, "video/mp4")).id
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=s) for s in (good, good, bad)], height=320
    )
    done = await compose_and_wait(stub, request)

    assert done.state == composer_pb2.COMPOSITION_STATE_FAILED
    assert done.error.startswith("clips[2]: ")
    assert not done.HasField("output")
    # ffprobe's words name the file by path; the client sees no server path.
    assert str(store.root) not in done.error and "/" not in done.error, done.error
