"""The final mix comes out at the requested integrated loudness with its true peak ≤ −1 dBTP,
measured as a user would: FFmpeg's EBU R128 meter (`ebur128`) over the whole finished ad."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2 as S
from services.generator.animatic import render_music
from tests.composer.helpers import Media, compose_and_wait, put
from tests.composer.media import loudness, make_clip

if TYPE_CHECKING:
    from reelforge.v1.composer_pb2_grpc import ComposerServiceAsyncStub as Stub

# The mix is measured (fade-out included) and mastered by one gain: measured 0.0 LU off target.
# The sources are about −22 LUFS, far (> 3 LU) from the targets, so skipping mastering fails.
TOLERANCE_LU = 1.0
# The music prompt of the offline ad that first showed the channel-layout failure.
_OFFLINE_MUSIC_PROMPT = (
    "Instrumental background music, energetic, optimistic, modern, minimalist, white space, "
    "soft shadows, product focus, clean, bright daylight"
)


@pytest.mark.parametrize("target", [-14.0, -30.0])
async def test_music_is_rendered_at_the_requested_loudness(
    stub: Stub, store: ArtifactStore, media: Media, target: float
) -> None:
    clip, music = await put(store, media.clip_2s), await put(store, media.music)
    source, _peak = loudness(media.music)
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip)] * 3,  # silent clips: the ad's sound is the music alone
        music=music,
        height=320,
        fps=12,
        loudness_lufs=target,
    )
    final = await compose_and_wait(stub, request)
    assert final.state == S.COMPOSITION_STATE_COMPLETED, (final.error, final.message)
    measured, peak = loudness(store.path_for(final.output.id))
    print(f"\nmusic {source:.1f} LUFS → ad {measured:.1f} LUFS (target {target:g})")
    assert abs(source - target) > 3 * TOLERANCE_LU, "the source must start far from the target"
    assert abs(measured - target) <= TOLERANCE_LU, (measured, target)
    assert peak <= -1.0, peak


async def test_clip_sound_alone_is_mastered(stub: Stub, store: ArtifactStore, media: Media) -> None:
    toned = await put(store, media.clip_1s_tone)
    source, _peak = loudness(media.clip_1s_tone)
    request = S.ComposeRequest(clips=[S.ClipInput(source=toned)] * 3, height=320, fps=12)
    final = await compose_and_wait(stub, request)
    assert final.state == S.COMPOSITION_STATE_COMPLETED, (final.error, final.message)
    measured, peak = loudness(store.path_for(final.output.id))
    assert abs(source - (-14.0)) > 3 * TOLERANCE_LU, source
    assert abs(measured - (-14.0)) <= TOLERANCE_LU and peak <= -1.0, (measured, peak)


async def test_the_offline_ad_shape_renders(
    stub: Stub, store: ArtifactStore, tmp_path: Path
) -> None:
    """What `./scripts/ad.sh` composes: six silent clips (30 s) under the offline music bed.
    FFmpeg refused it ("Cannot select channel layout" between the mastered mix and the encoder,
    when this track made it re-initialise its filters mid-stream) while shorter ads rendered."""
    clip = await put(store, make_clip(tmp_path / "clip.mp4", 5))
    track = tmp_path / "music.m4a"
    await render_music(prompt=_OFFLINE_MUSIC_PROMPT, duration_s=30.0, seed=7, dest=track)
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip, target_duration_seconds=5)] * 6,
        music=await put(store, track),
        height=320,
        fps=12,
    )
    final = await compose_and_wait(stub, request)
    assert final.state == S.COMPOSITION_STATE_COMPLETED, (final.error, final.message)
    assert final.audio_codec == "aac"
