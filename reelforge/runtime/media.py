"""ffprobe as a typed async call: what a media file holds (duration, size, codecs)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.runtime.subprocesses import die_with_parent

_PROBE_TIMEOUT_S = 30.0


class MediaError(Exception):
    """A file ffprobe cannot read, or one without the expected streams."""


@dataclass(frozen=True, kw_only=True)
class Extent:
    """How much media a file holds; 0 where unknown or not applicable (a still has no duration)."""

    size_bytes: int
    width: int = 0
    height: int = 0
    duration_seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class MediaInfo(Extent):
    """What ffprobe found in a file."""

    format_name: str
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    pixel_format: str = ""

    @property
    def has_video(self) -> bool:
        return bool(self.video_codec)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codec)


def _fps(rate: str) -> float:
    num, _, den = rate.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _parse(data: dict[str, Any]) -> MediaInfo:
    streams = data.get("streams", [])
    video: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "video"), {})
    audio: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "audio"), {})
    fmt: dict[str, Any] = data.get("format", {})
    return MediaInfo(
        format_name=str(fmt.get("format_name", "")),
        duration_seconds=float(fmt.get("duration") or video.get("duration") or 0.0),
        size_bytes=int(fmt.get("size") or 0),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps=_fps(str(video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1")),
        video_codec=str(video.get("codec_name", "")),
        audio_codec=str(audio.get("codec_name", "")),
        pixel_format=str(video.get("pix_fmt", "")),
    )


async def probe(path: Path) -> MediaInfo:
    """Runs ffprobe on ``path``; MediaError when it is not readable media."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    proc = await asyncio.create_subprocess_exec(
        *die_with_parent([*argv, str(path)]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), _PROBE_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise MediaError(f"ffprobe timed out on {path.name}") from None
    if proc.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()
        raise MediaError(reason[-1] if reason else f"ffprobe failed on {path.name}")
    info = _parse(json.loads(out))
    if not info.has_video and not info.has_audio:
        raise MediaError(f"{path.name} has no audio or video stream")
    return info
