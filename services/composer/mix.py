"""The ad's sound in the video pass: clip sound and music, ducked under the voice-over, mastered.

Levels are measured, not assumed (``loudness.py``), in two audio-only passes before the video:

1. **Stems** (when there is something to balance). The voice-over is brought to _VOICE_LUFS
   and the music to _MUSIC_LUFS (_MUSIC_UNDER_VOICE_LUFS when there is a voice) by measured
   gains. The voice is then compressed and peak-limited (espeak-ng: ≈ −21 LUFS with true
   peaks ≈ 11 dB above it, instead of ≈ 19), so the master can reach −14 LUFS by plain gain
   with room under −1 dBTP.
2. **Mix.** Clip sound and music make the bed; ``sidechaincompress`` keyed by the voice
   ducks the bed while a line is spoken (measured 16–17 dB under espeak-ng speech) and lets
   it back within _DUCK_RELEASE_MS after it. The mix is measured, and the video pass masters
   it with ``loudnorm`` given those measurements (``linear=true``): one gain to the target.
   Should that gain push the true peak over TRUE_PEAK_DB, loudnorm switches itself to its
   dynamic mode, which limits.

Without voice and music the clip sound alone is mastered the same way.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import ffmpeg

from services.composer.loudness import Loudness, measure
from services.composer.streams import (
    SAMPLE_RATE,
    Stream,
    exact_length,
    media_input,
    normalised_audio,
)
from services.composer.timeline import ProbedInput, Segment, Timeline

_LOGGER = logging.getLogger(__name__)
_VOICE_LUFS = -16.0
_MUSIC_LUFS = -16.0
_MUSIC_UNDER_VOICE_LUFS = -25.0  # ≈ 4 LU under the processed voice, before ducking
_MAX_GAIN_DB = 30.0  # a near-silent stem is not lifted into its noise floor
# Voice processing after the gain: a fast peak compressor, then a limiter with its ceiling
# ≈ 5 dB above the voice's loudness (linear amplitudes, as FFmpeg takes them).
_VOICE_COMPRESSOR = {
    "threshold": 0.1,  # −20 dBFS
    "ratio": 4,
    "attack": 1,
    "release": 100,
    "detection": "peak",
    "makeup": 2,
}
_VOICE_LIMITER = {"limit": 0.3, "attack": 1, "release": 30, "level": 0, "latency": 1}
# Ducking: the processed voice's speech sits well over this threshold, so at ratio 6 the bed
# drops 16–17 dB (measured, tests/composer/test_voice.py). 20 ms attack keeps word onsets
# clear; 350 ms release lets the music back between lines but not between words.
_DUCK_THRESHOLD = 0.015  # −36.5 dBFS
_DUCK_RATIO = 6
_DUCK_ATTACK_MS = 20
_DUCK_RELEASE_MS = 350
_MUSIC_FADE_S = 1.0
_VOICE_FADE_S = 0.03  # a line cut by the ad's end ends without a click
TRUE_PEAK_DB = -1.5  # loudnorm's ceiling: AAC adds a few tenths, the output stays ≤ −1 dBTP
_LRA_DEFAULT = 11.0
_LRA_MAX = 50.0
_MUSIC_USE = 1000
_VOICE_USE = 2000


@dataclass(frozen=True)
class Sound:
    """What the ad's sound is made of, and what the measurements chose for it."""

    timeline: Timeline
    music: ProbedInput | None = None
    voices: tuple[VoiceTrack, ...] = ()
    voice_gain_db: float = 0.0
    music_gain_db: float = 0.0
    mix_loudness: Loudness | None = None  # the mix before mastering; None until measured

    @property
    def has_audio(self) -> bool:
        return bool(self.music or self.voices or self.timeline.has_clip_audio)


@dataclass(frozen=True)
class VoiceTrack:
    """A voice-over input placed at ``start_s`` in the ad's timeline."""

    input: ProbedInput
    start_s: float


def _clip_audio(segment: Segment, use: int) -> Stream:
    """The clip's own sound, or silence of its length, so crossfades line up with the video."""
    if segment.input.info.has_audio:
        read_s = None if segment.hold_s else segment.duration
        audio = media_input(segment.input, read_s, use).audio.filter("asetpts", "PTS-STARTPTS")
    else:
        # nb_samples differs per clip only so that ffmpeg-python keeps the sources apart.
        source = f"anullsrc=r={SAMPLE_RATE}:cl=stereo:nb_samples={1024 + use}"
        audio = ffmpeg.input(source, f="lavfi", t=f"{segment.duration:.6f}").audio
    return exact_length(normalised_audio(audio), segment.duration)


def _clip_sound(timeline: Timeline) -> Stream | None:
    if not timeline.has_clip_audio:
        return None
    clips = [_clip_audio(s, i) for i, s in enumerate(timeline.segments)]
    if len(clips) == 1:
        return clips[0]
    if timeline.transition_s <= 0:
        return ffmpeg.concat(*clips, v=0, a=1)
    joined = clips[0]
    for clip in clips[1:]:
        # acrossfade overlaps by the same span as xfade, so sound and picture stay in step.
        joined = ffmpeg.filter(
            [joined, clip], "acrossfade", d=f"{timeline.transition_s:.6f}", c1="tri", c2="tri"
        )
    return joined


def _music_stem(sound: Sound) -> Stream | None:
    """The music trimmed (or padded with silence) to the ad's length, at its own level."""
    if sound.music is None:
        return None
    total_s = sound.timeline.total_s
    audio = media_input(sound.music, total_s, _MUSIC_USE).audio
    audio = audio.filter("atrim", duration=f"{total_s:.6f}").filter("asetpts", "PTS-STARTPTS")
    return exact_length(normalised_audio(audio), total_s)


def _voice_track(track: VoiceTrack, total_s: float, use: int) -> Stream:
    audio = media_input(track.input, total_s - track.start_s, use).audio
    audio = normalised_audio(audio.filter("asetpts", "PTS-STARTPTS"))
    # Delayed by whole samples: captions and subtitles use the same start.
    return audio.filter("adelay", delays=f"{round(track.start_s * SAMPLE_RATE)}S", all=1)


def _voice_stem(sound: Sound) -> Stream | None:
    """Every voice input at its place in the ad, mixed, exactly the ad's length."""
    if not sound.voices:
        return None
    total_s = sound.timeline.total_s
    tracks = [_voice_track(t, total_s, _VOICE_USE + i) for i, t in enumerate(sound.voices)]
    joined = tracks[0]
    if len(tracks) > 1:
        joined = ffmpeg.filter(tracks, "amix", inputs=len(tracks), normalize=0, duration="longest")
    return exact_length(joined, total_s)


def _processed_voice(stem: Stream, sound: Sound) -> Stream:
    stem = stem.filter("volume", f"{sound.voice_gain_db:.2f}dB")
    stem = stem.filter("acompressor", **_VOICE_COMPRESSOR).filter("alimiter", **_VOICE_LIMITER)
    return _fade_out(stem, sound.timeline.total_s, _VOICE_FADE_S)


def _fade_out(audio: Stream, total_s: float, seconds: float) -> Stream:
    fade_s = min(seconds, total_s / 2)
    return audio.filter("afade", t="out", st=f"{total_s - fade_s:.6f}", d=f"{fade_s:.6f}")


def _bed(sound: Sound) -> Stream | None:
    """Clip sound and music (gained, faded out over the last second), mixed unattenuated."""
    clips = _clip_sound(sound.timeline)
    music = _music_stem(sound)
    if music is not None:
        music = music.filter("volume", f"{sound.music_gain_db:.2f}dB")
        music = _fade_out(music, sound.timeline.total_s, _MUSIC_FADE_S)
    if clips is not None and music is not None:
        return ffmpeg.filter([clips, music], "amix", inputs=2, duration="first", normalize=0)
    return clips if clips is not None else music


def mix(sound: Sound) -> Stream | None:
    """The voice over the bed, the bed ducked under it; None when the ad is silent."""
    bed, voice = _bed(sound), _voice_stem(sound)
    if voice is None:
        return bed
    voice = _processed_voice(voice, sound)
    if bed is None:
        return voice
    split = voice.asplit()
    ducked = ffmpeg.filter(
        [bed, split[1]],
        "sidechaincompress",
        threshold=_DUCK_THRESHOLD,
        ratio=_DUCK_RATIO,
        attack=_DUCK_ATTACK_MS,
        release=_DUCK_RELEASE_MS,
    )
    return ffmpeg.filter([ducked, split[0]], "amix", inputs=2, duration="first", normalize=0)


def mastered(sound: Sound, target_lufs: float) -> Stream | None:
    """The mix brought to ``target_lufs`` with loudnorm fed the mix's measured values."""
    mixed = mix(sound)
    measured = sound.mix_loudness
    if mixed is None or measured is None or measured.silent:
        return mixed
    # loudnorm reads a measured range of 0 as "not measured" and then refuses linear mode;
    # a mix too short for a range (under 3 s) has none to keep.
    measured_lra = min(max(measured.range_lu, 0.1), 99.0)
    mixed = mixed.filter(
        "loudnorm",
        I=f"{target_lufs:.2f}",
        TP=f"{TRUE_PEAK_DB:.2f}",
        # A target range below the measured one would also refuse linear mode.
        LRA=f"{min(_LRA_MAX, max(_LRA_DEFAULT, math.ceil(measured_lra))):.2f}",
        measured_I=f"{max(measured.integrated_lufs, -99.0):.2f}",
        measured_TP=f"{min(max(measured.true_peak_db, -99.0), 99.0):.2f}",
        measured_LRA=f"{measured_lra:.2f}",
        # The relative gate sits 10 LU under the integrated loudness (EBU R128).
        measured_thresh=f"{max(measured.integrated_lufs - 10, -99.0):.2f}",
        linear="true",
    )
    # loudnorm works (and outputs) at 192 kHz; its output link carries no channel layout, which
    # FFmpeg could not always negotiate with the encoder ("Cannot select channel layout"), so
    # the format is pinned after resampling.
    return mixed.filter("aresample", SAMPLE_RATE).filter(
        "aformat", sample_fmts="fltp", channel_layouts="stereo"
    )


def _gain_db(target_lufs: float, measured: Loudness | None) -> float:
    if measured is None or measured.silent:
        return 0.0
    gain = target_lufs - measured.integrated_lufs
    return max(-_MAX_GAIN_DB, min(_MAX_GAIN_DB, gain))


async def measured(sound: Sound, target_lufs: float, workdir: Path, *, timeout_s: float) -> Sound:
    """The sound with its stem gains and the mix's loudness set, from two audio-only passes."""
    stems = {
        name: stem
        for name, stem in (("voice", _voice_stem(sound)), ("music", _music_stem(sound)))
        if stem is not None
    }
    # Music alone needs no level of its own: the master sets it (one pass saved).
    if sound.voices or (stems and sound.timeline.has_clip_audio):
        found = await measure(stems, workdir, timeout_s=timeout_s)
        music_lufs = _MUSIC_UNDER_VOICE_LUFS if sound.voices else _MUSIC_LUFS
        sound = replace(
            sound,
            voice_gain_db=_gain_db(_VOICE_LUFS, found.get("voice")),
            music_gain_db=_gain_db(music_lufs, found.get("music")),
        )
    mixed = mix(sound)
    if mixed is None:
        return sound
    loudness = (await measure({"mix": mixed}, workdir, timeout_s=timeout_s))["mix"]
    gain = target_lufs - loudness.integrated_lufs
    linear = loudness.true_peak_db + gain <= TRUE_PEAK_DB
    _LOGGER.info(
        "mix at %.1f LUFS, true peak %.1f dBTP: %+.1f dB to %.1f LUFS (%s)",
        loudness.integrated_lufs,
        loudness.true_peak_db,
        gain,
        target_lufs,
        "linear" if linear else "loudnorm limits the peaks",
    )
    return replace(sound, mix_loudness=loudness)
