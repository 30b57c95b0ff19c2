"""Bitrates that make a render fit ``max_size_bytes``: the seeds' "optimize" step without a third encode."""

from __future__ import annotations

from dataclasses import dataclass

from services.composer.render_errors import RenderFailed
from services.composer.validation import MIN_VIDEO_KBPS

# The MP4 container and x264's rate control overshoot a little; aim this far under the bound.
_HEADROOM = 0.94
_MIN_AUDIO_KBPS, _MAX_AUDIO_KBPS = 32, 128
_AUDIO_SHARE = 0.15
# H.264's highest level (6.2) allows 800 Mb/s: a budget with room for more binds nothing, and
# libx264 refuses a rate past ~2.1 Tb/s outright (a 1 TiB bound on a 1 s ad failed the render).
_MAX_VIDEO_KBPS = 800_000.0


@dataclass(frozen=True)
class Bitrates:
    video_kbps: float
    audio_kbps: int


def fit_bitrates(max_bytes: int, duration_s: float, has_audio: bool) -> Bitrates:
    """Splits the size budget between picture and sound; RenderFailed when it cannot hold a picture."""
    total_kbps = max_bytes * 8 / 1000 / duration_s * _HEADROOM
    audio = 0
    if has_audio:
        audio = int(min(_MAX_AUDIO_KBPS, max(_MIN_AUDIO_KBPS, total_kbps * _AUDIO_SHARE)))
    video = min(total_kbps - audio, _MAX_VIDEO_KBPS)
    if video < MIN_VIDEO_KBPS:
        raise RenderFailed.at(
            "max_size_bytes", f"{max_bytes} bytes is too small for a {duration_s:.2f} s video"
        )
    return Bitrates(video, audio)


def refit(bitrates: Bitrates, max_bytes: int, actual_bytes: int) -> Bitrates:
    """A lower video bitrate for the second (two-pass) attempt, scaled by how far the first overshot."""
    scale = max_bytes / actual_bytes * _HEADROOM
    return Bitrates(max(MIN_VIDEO_KBPS, bitrates.video_kbps * scale), bitrates.audio_kbps)
