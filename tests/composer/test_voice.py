"""A voiced ad, measured as a viewer's tools would: speech starts inside each scene (silence
detection), the music ducks under it, the mix is at −14 LUFS / ≤ −1 dBTP, word captions are
burned inside the safe zone (pixels against a caption-free render), and the SRT/WebVTT files
carry the voice's timings.

The voice is real offline speech (espeak-ng, with its own word timings); the music is a 9 kHz
tone, where espeak-ng's voice has almost no energy, so the music's level in the mix is read off
the spectrum at 9 kHz and speech is found below 3 kHz.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import common_pb2
from reelforge.v1 import composer_pb2 as S
from services.composer.platforms import PLATFORMS
from services.generator.animatic.speech import Speech, speak
from tests.composer.helpers import compose_and_wait, put
from tests.composer.media import (
    band_rms_db,
    frame_at,
    loudness,
    make_clip,
    make_music,
    pcm,
    speech_onsets,
    subtitle_cues,
)

if TYPE_CHECKING:
    from reelforge.v1.composer_pb2_grpc import ComposerServiceAsyncStub as Stub

LINES = ("Meet Lumen.", "It cleans itself.", "Shop now.")
SCENE_S, TRANSITION_S, FPS, W, H = 2.5, 0.5, 12, 180, 320
INTO_SCENE_S = 0.3  # each line starts this long after its scene does
MUSIC_HZ, SPEECH_BELOW_HZ, RATE = 9000, 3000, 48000
# After a line the music is back once the compressor has released (350 ms), with a margin.
RETURN_S = 0.5


def _scene_start(index: int) -> float:
    return index * (SCENE_S - TRANSITION_S)


@pytest.fixture(scope="module")
def voiced(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Speech], Path, Path]:
    """The three lines spoken, a flat grey clip (captions show clearly) and the tone."""
    root = tmp_path_factory.mktemp("voice")

    async def speak_all() -> list[Speech]:
        return [await speak(text, root / f"line{i}.wav") for i, text in enumerate(LINES)]

    lines = asyncio.run(speak_all())
    clip = make_clip(root / "grey.mp4", SCENE_S, colour="0x707070")
    return lines, clip, make_music(root / "tone.m4a", 8, hz=MUSIC_HZ)


async def _request(
    store: ArtifactStore, voiced: tuple[list[Speech], Path, Path]
) -> S.ComposeRequest:
    lines, clip, music = voiced
    clip_id, music_id = await put(store, clip), await put(store, music)
    voice = [
        S.VoiceInput(
            source=await put(store, speech.wav),
            start_seconds=_scene_start(i) + INTO_SCENE_S,
            words=[
                common_pb2.WordTiming(word=w.word, start_seconds=w.start_s, end_seconds=w.end_s)
                for w in speech.words
            ],
        )
        for i, speech in enumerate(lines)
    ]
    return S.ComposeRequest(
        clips=[S.ClipInput(source=clip_id, target_duration_seconds=SCENE_S)] * len(LINES),
        transition_seconds=TRANSITION_S,
        music=music_id,
        voice=voice,
        height=H,
        fps=FPS,
        tier=common_pb2.TIER_DRAFT,
    )


def _spans(request: S.ComposeRequest) -> list[tuple[float, float]]:
    """When each line is spoken in the ad: its first word's start to its last word's end."""
    return [
        (v.start_seconds + v.words[0].start_seconds, v.start_seconds + v.words[-1].end_seconds)
        for v in request.voice
    ]


def _caption_pixels(
    store: ArtifactStore, captioned: S.Composition, plain: S.Composition, at_s: float
) -> np.ndarray:
    """Where the frame at ``at_s`` differs between the captioned and the caption-free render."""
    with_captions = frame_at(store.path_for(captioned.output.id), at_s, W, H)
    without = frame_at(store.path_for(plain.output.id), at_s, W, H)
    difference: np.ndarray = np.abs(with_captions - without).sum(axis=2)
    return difference > 60


def _assert_inside(changed: np.ndarray, platform: str) -> None:
    """A caption was drawn, and nothing outside the platform's safe zone changed."""
    rows, cols = np.nonzero(changed)
    left, top, right, bottom = PLATFORMS[platform].safe_box(W, H)
    assert len(rows) > 50, "no caption was drawn"
    assert top <= rows.min() and rows.max() < bottom, (rows.min(), rows.max(), top, bottom)
    assert left <= cols.min() and cols.max() < right, (cols.min(), cols.max(), left, right)


async def test_voice_over_music_is_ducked_mastered_and_subtitled(
    stub: Stub, store: ArtifactStore, voiced: tuple[list[Speech], Path, Path]
) -> None:
    request = await _request(store, voiced)
    done = await compose_and_wait(stub, request)
    assert done.state == S.COMPOSITION_STATE_COMPLETED, done.error
    path = store.path_for(done.output.id)
    spans = _spans(request)

    # Speech starts inside each scene, where it was placed.
    onsets = speech_onsets(path, SPEECH_BELOW_HZ)
    for index, (start_s, _end_s) in enumerate(spans):
        scene_start = _scene_start(index)
        first = min((t for t in onsets if t >= scene_start), default=None)
        assert first is not None and first < scene_start + SCENE_S, (index, onsets)
        assert abs(first - start_s) <= 0.1, (index, first, start_s, onsets)

    # The music drops ≥ 6 dB under each line and comes back after it.
    sound = pcm(path, RATE)

    def music_db(start_s: float, end_s: float) -> float:
        return band_rms_db(sound[int(start_s * RATE) : int(end_s * RATE)], RATE, MUSIC_HZ)

    # Alone: before each line, from the start or once the previous line's ducking let go.
    since = [0.0] + [end_s + RETURN_S for _, end_s in spans[:-1]]
    for (start_s, end_s), alone_from in zip(spans, since, strict=True):
        under = music_db(start_s + 0.1, end_s)
        alone = music_db(alone_from, start_s - 0.02)
        print(f"\nmusic under speech {under:.1f} dB, alone {alone:.1f} dB: {alone - under:.1f} dB")
        assert alone - under >= 6.0, (under, alone)

    # The whole mix is mastered: −14 ± 1 LUFS integrated, true peak ≤ −1 dBTP.
    integrated, peak = loudness(path)
    print(f"mix {integrated:.2f} LUFS, true peak {peak:.2f} dBTP")
    assert abs(integrated - (-14.0)) <= 1.0, integrated
    assert peak <= -1.0, peak

    # One subtitle cue per line here (short lines), at the voice's times within a frame.
    for artifact, mime in (
        (done.subtitles_srt, "application/x-subrip"),
        (done.subtitles_vtt, "text/vtt"),
    ):
        assert artifact.mime_type == mime and artifact.uri == f"/api/artifacts/{artifact.id}"
        assert artifact.size_bytes == store.path_for(artifact.id).stat().st_size
        cues = subtitle_cues(store.path_for(artifact.id))
        assert len(cues) == len(spans), cues
        for (start, end, _text), (start_s, end_s) in zip(cues, spans, strict=True):
            assert start == pytest.approx(start_s, abs=1 / FPS)
            assert end >= end_s - 1 / FPS


async def test_word_captions_show_inside_the_safe_zone_only(
    stub: Stub, store: ArtifactStore, voiced: tuple[list[Speech], Path, Path]
) -> None:
    request = await _request(store, voiced)
    captioned = await compose_and_wait(stub, request)
    request.captions.mode = S.CAPTION_MODE_OFF
    plain = await compose_and_wait(stub, request)
    assert captioned.state == plain.state == S.COMPOSITION_STATE_COMPLETED
    assert plain.subtitles_srt.id, "captions off: the subtitle files are still made"

    def changed(at_s: float) -> np.ndarray:
        return _caption_pixels(store, captioned, plain, at_s)

    for start_s, end_s in _spans(request):
        _assert_inside(changed((start_s + end_s) / 2), "tiktok")
    # Between lines (after the caption's short hold) nothing is drawn.
    first_end, second_start = _spans(request)[0][1], _spans(request)[1][0]
    assert not changed((first_end + 0.5 + second_start) / 2).any()


async def test_scene_captions_follow_their_clips(
    stub: Stub, store: ArtifactStore, voiced: tuple[list[Speech], Path, Path]
) -> None:
    _lines, clip, _music = voiced
    clip_id = await put(store, clip)
    request = S.ComposeRequest(
        clips=[
            S.ClipInput(source=clip_id, target_duration_seconds=SCENE_S, caption="Meet Lumen"),
            S.ClipInput(source=clip_id, target_duration_seconds=SCENE_S),
        ],
        transition_seconds=TRANSITION_S,
        height=H,
        fps=FPS,
        platform="reels",
    )
    captioned = await compose_and_wait(stub, request)
    request.captions.mode = S.CAPTION_MODE_OFF
    plain = await compose_and_wait(stub, request)
    assert captioned.state == plain.state == S.COMPOSITION_STATE_COMPLETED
    assert not captioned.HasField("subtitles_srt"), "no voice words: no subtitle files"

    _assert_inside(_caption_pixels(store, captioned, plain, 1.0), "reels")
    assert not _caption_pixels(store, captioned, plain, 3.5).any(), "the second clip has none"
