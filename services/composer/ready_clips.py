"""Clips already encoded as the ad's pieces are: their bodies are copied, not encoded again.

A clip is **ready** when its H.264 stream could have come out of the composer's own encoder for
this ad: the output's frame size, fps and pixel format (yuv420p, square pixels), starting at
time zero, and the very decoder set-up (SPS/PPS, the stream's extradata) x264 writes with the
tier's settings at this size. A body piece of a ready clip is then the clip's own packets
when nothing is drawn over it (no caption on screen, no watermark, no end card), the clip is
not held on its last frame, and a GOP starts at the body's first frame and right after its
last (x264's GOPs are closed: no frame refers across an IDR). The offline animatic encodes
its clips that way (keyframes where the crossfades begin and end), so a caption-free scene's
pixels are encoded once in the whole pipeline; a hosted model's clip is never ready (another
encoder, another size) and every piece is encoded as before.

The body is cut out of the clip by FFmpeg's segment muxer at those keyframes (stream copy;
no seeking by time, which lands a frame early or late when a time rounds). Its frames are the
clip's decoded frames exactly (``tests/composer/test_ready_clips.py``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.runtime.subprocesses import die_with_parent
from services.composer.filter_graph import Encode, _encode_options
from services.composer.output_format import OutputFormat
from services.composer.timeline import ProbedInput

_PROBE_TIMEOUT_S = 30.0
_REFERENCE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ReadyClip:
    """A ready clip: its frame count and the frames a GOP starts at (display order)."""

    frames: int
    keyframes: frozenset[int]

    def spans(self, start: int, end: int) -> bool:
        """Whether frames [start, end) are whole GOPs of the clip, so copying them is exact."""
        starts_gop = start in self.keyframes
        ends_gop = end == self.frames or end in self.keyframes
        return 0 <= start < end <= self.frames and starts_gop and ends_gop


async def ready_clip(clip: ProbedInput, fmt: OutputFormat, encode: Encode) -> ReadyClip | None:
    """The clip's GOPs when it is ready for ``fmt`` and ``encode``; None otherwise."""
    info = clip.info
    if encode.video_kbps is not None or encode.pass_number:
        return None  # a bitrate target spreads bits over the whole ad (the one-pass path)
    looks_ready = (
        info.video_codec == "h264"
        and (info.width, info.height) == (fmt.width, fmt.height)
        and info.pixel_format == "yuv420p"
        and info.fps == fmt.fps
    )
    if not looks_ready:
        return None  # the common case (a hosted model's clip): no further probe
    found, reference = await asyncio.gather(
        _probe(clip.path), asyncio.to_thread(reference_extradata, fmt, encode)
    )
    if found is None or reference is None or found[0] != reference:
        return None
    return found[1]


def _probe_argv(path: Path) -> list[str]:
    return [
        # The extradata's hash only: -show_data would print every packet's bytes too.
        "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_data_hash", "sha256",
        "-of", "json",
        "-show_entries", "stream=extradata_hash,sample_aspect_ratio,start_time:packet=pts,flags",
        str(path.absolute()),
    ]  # fmt: skip


async def _probe(path: Path) -> tuple[str, ReadyClip] | None:
    """``_read_probe`` of the clip; ffprobe runs as the service's other children do (dies
    with the service, killed when the compose is canceled or it overruns)."""
    process = await asyncio.create_subprocess_exec(
        *die_with_parent(_probe_argv(path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), _PROBE_TIMEOUT_S)
    except TimeoutError:
        return None  # not ready; the encode path reports what is wrong with the file, if anything
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return _read_probe(out) if process.returncode == 0 else None


def _read_probe(out: bytes) -> tuple[str, ReadyClip] | None:
    """The extradata (its hash) and GOPs ffprobe found, or None when the stream does not start
    at zero with square pixels (the fitted frames would not be its own)."""
    try:
        probed: dict[str, Any] = json.loads(out)
    except ValueError:
        return None
    streams, packets = probed.get("streams") or [{}], probed.get("packets") or []
    stream = streams[0]
    square = stream.get("sample_aspect_ratio") in (None, "1:1", "0:1")
    if not square or float(stream.get("start_time") or 0) != 0 or not packets:
        return None
    times = sorted(int(p["pts"]) for p in packets if "pts" in p)
    if len(times) != len(packets):
        return None
    index = {pts: frame for frame, pts in enumerate(times)}
    keyframes = frozenset(index[int(p["pts"])] for p in packets if "K" in p.get("flags", ""))
    return str(stream.get("extradata_hash", "")), ReadyClip(len(times), keyframes)


_REFERENCES = threading.Lock()  # clips are probed in parallel threads: one reference encode


@functools.cache
def _reference(
    width: int, height: int, fps: int, options: tuple[tuple[str, str], ...]
) -> str | None:
    # Once per process and format, in a worker thread (reference_extradata), so run directly.
    with tempfile.TemporaryDirectory(prefix="reelforge-reference-") as folder:
        output = Path(folder) / "one-frame.mp4"
        argv = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi"]
        argv += ["-i", f"color=black:s={width}x{height}:r={fps}", "-frames:v", "1"]
        for name, value in options:
            argv += [f"-{name}", value]
        try:
            subprocess.run(
                [*argv, "-f", "mp4", str(output)], check=True, timeout=_REFERENCE_TIMEOUT_S
            )
            probed = subprocess.run(_probe_argv(output), capture_output=True, check=True)
        except (subprocess.SubprocessError, OSError):
            return None  # no reference: no clip is ready, every piece is encoded
    found = _read_probe(probed.stdout)
    return found[0] if found is not None else None


def reference_extradata(fmt: OutputFormat, encode: Encode) -> str | None:
    """The extradata x264 writes for this format and encode (one black frame, once per
    process): a ready clip's must be the same bytes, or the joined MP4's one decoder set-up
    would not fit its packets. None when FFmpeg could not make it (then nothing is copied)."""
    options = tuple(sorted((k, str(v)) for k, v in _encode_options(encode, fmt).items()))
    with _REFERENCES:
        return _reference(fmt.width, fmt.height, fmt.fps, options)


def body_argv(clip: Path, start: int, end: int, frames: int, folder: Path) -> list[str]:
    """The argv that cuts the clip at its keyframes ``start`` and ``end`` (stream copy) into
    ``folder``/part0.mp4, part1.mp4, …; the body is ``body_part(start)``."""
    cuts = ",".join(str(at) for at in (start, end) if 0 < at < frames)
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(clip.absolute())]
    argv += ["-map", "0:v:0", "-c", "copy", "-an", "-sn", "-dn", "-f", "segment"]
    if cuts:
        argv += ["-segment_frames", cuts]
    return [*argv, "-segment_format", "mp4", "-reset_timestamps", "1", str(folder / "part%d.mp4")]


def body_part(start: int, folder: Path) -> Path:
    """Which of ``body_argv``'s parts is the body: the first, or the second after a head."""
    return folder / ("part1.mp4" if start else "part0.mp4")
