"""ffmpeg-python building blocks shared by the picture and the sound: inputs and audio format."""

from __future__ import annotations

from typing import Any

import ffmpeg

from services.composer.timeline import ProbedInput

Stream = Any  # ffmpeg-python streams are untyped

SAMPLE_RATE = 48000
_QUEUE_BASE = 64
_READ_MARGIN_S = 0.25


def media_input(source: ProbedInput, seconds: float | None, use: int) -> Stream:
    """One ``-i`` per use of a file. ffmpeg-python merges equal nodes, so a file used twice
    (the same clip repeated) would become one input feeding two chains; ``use`` keeps them apart.
    """
    options: dict[str, Any] = {"thread_queue_size": _QUEUE_BASE + use}
    if seconds:
        # Reading stops just past what is used, so a long clip trimmed short is not decoded whole.
        options["t"] = f"{seconds + _READ_MARGIN_S:.6f}"
    return ffmpeg.input(str(source.path), **options)


def normalised_audio(audio: Stream) -> Stream:
    """48 kHz stereo float: what amix, acrossfade and sidechaincompress need on every input."""
    audio = audio.filter("aresample", SAMPLE_RATE)
    return audio.filter("aformat", sample_fmts="fltp", channel_layouts="stereo")


def exact_length(audio: Stream, seconds: float) -> Stream:
    """Padded with silence or cut, so that it lasts exactly ``seconds``."""
    audio = audio.filter("apad", whole_dur=f"{seconds:.6f}")
    return audio.filter("atrim", duration=f"{seconds:.6f}").filter("asetpts", "PTS-STARTPTS")
