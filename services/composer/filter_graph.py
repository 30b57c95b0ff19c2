"""The one-pass FFmpeg command: every clip fitted to the frame, an xfade chain, captions burned
in, and the mastered sound (``mix.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from reelforge.v1 import common_pb2
from services.composer.mix import Sound, mastered
from services.composer.output_format import OutputFormat
from services.composer.overlays import Overlays, burn_captions, burn_overlays
from services.composer.streams import SAMPLE_RATE, Stream, media_input
from services.composer.timeline import Segment, Timeline


@dataclass(frozen=True)
class Encode:
    """How x264 spends bits: constant quality (crf) or a bitrate, in one pass or pass 1/2 of two."""

    crf: int | None = None
    video_kbps: float | None = None
    pass_number: int = 0  # 0 = single pass
    passlog: Path | None = None
    audio_kbps: int = 192
    threads: int = 0


def _fit(video: Stream, fmt: OutputFormat, focus: tuple[float, float]) -> Stream:
    """Scales to cover the frame and crops the overflow around ``focus`` (fractions of the
    picture: the crop is centred on it, pushed back inside at the edges), so no bars ever
    show; with FIT_PAD, scales to fit inside and letter-boxes instead."""
    if fmt.fit == common_pb2.FIT_PAD:
        video = video.filter(
            "scale",
            fmt.width,
            fmt.height,
            force_original_aspect_ratio="decrease",
            force_divisible_by=2,
        )
        return video.filter("pad", fmt.width, fmt.height, "(ow-iw)/2", "(oh-ih)/2", color="black")
    video = video.filter("scale", fmt.width, fmt.height, force_original_aspect_ratio="increase")
    # crop clamps x and y to 0…(iw−ow) and 0…(ih−oh) itself, on every frame.
    x, y = (
        f"{axis}*{at:.4f}-{out}/2"
        for axis, at, out in (("iw", focus[0], "ow"), ("ih", focus[1], "oh"))
    )
    return video.filter("crop", fmt.width, fmt.height, x, y)


@dataclass(frozen=True)
class FramePlan:
    """Whole frames per clip and per overlap, chosen so the ad has round(total × fps) frames.

    Each clip ends where its end time on the output timeline rounds to, so the rounding of
    one clip never adds up with the next one's (a 2.4 s clip at 12 fps is 28.8 frames).
    """

    frames: list[int]
    overlap: int

    @property
    def total(self) -> int:
        """The ad's frames: each clip's, less the overlaps counted twice."""
        return sum(self.frames) - self.overlap * (len(self.frames) - 1)


def frame_plan(timeline: Timeline, fps: int) -> FramePlan:
    overlap = round(timeline.transition_s * fps)
    frames, end_s, start = [], 0.0, 0
    for index, segment in enumerate(timeline.segments):
        end_s += segment.duration - (timeline.transition_s if index else 0.0)
        end = round(end_s * fps)
        frames.append(end - start)
        start = end - overlap
    return FramePlan(frames, overlap)


def _video(segment: Segment, frames: int, fmt: OutputFormat, use: int) -> Stream:
    """A clip at the common size, fps, pixel format and time base, exactly ``frames`` long."""
    read_s = None if segment.hold_s else segment.duration
    video = media_input(segment.input, read_s, use).video.filter("setpts", "PTS-STARTPTS")
    video = video.filter("fps", fmt.fps)
    video = _fit(video, fmt, segment.focus).filter("setsar", 1)
    video = video.filter("format", "yuv420p")
    if segment.hold_s:
        video = video.filter(
            "tpad", stop_mode="clone", stop_duration=f"{segment.hold_s + 2 / fmt.fps:.6f}"
        )
    video = video.filter("trim", end_frame=frames)
    return video.filter("setpts", "PTS-STARTPTS").filter("settb", f"1/{fmt.fps}")


def _cut(stream: Stream, start: int, end: int) -> Stream:
    """Frames [start, end) of a clip, re-timed from zero."""
    return stream.filter("trim", start_frame=start, end_frame=end).filter("setpts", "PTS-STARTPTS")


def _crossfade(tail: Stream, head: Stream, transition: str, frames: int, fps: int) -> Stream:
    """xfade over two ``frames``-long pieces, back in yuv420p for the concat and x264.

    xfade stops blending as soon as it sees either input end, even while that input's last
    frame is still queued, and which input ends first is up to FFmpeg's scheduler: the last
    frame of a crossfade came out as the plain head in some graphs and blended in others
    (tests/composer/test_segments.py). Both inputs run one cloned frame longer and the blend
    is cut back to ``frames``.
    """
    padded = [piece.filter("tpad", stop=1, stop_mode="clone") for piece in (tail, head)]
    faded = ffmpeg.filter(
        padded, "xfade", transition=transition, duration=f"{frames / fps:.6f}", offset=0
    )
    # Frame-counted timestamps: xfade ends its output one frame late, and concat would
    # otherwise leave a gap there that the encoder fills with a duplicate frame.
    faded = faded.filter("trim", end_frame=frames)
    return faded.filter("format", "yuv420p").filter("setpts", f"N/({fps}*TB)")


def _xfade_chain(clips: list[Stream], plan: FramePlan, fmt: OutputFormat) -> Stream:
    """Every clip through one xfade chain: right for any lengths, but every frame is converted."""
    joined, elapsed = clips[0], plan.frames[0]
    for clip, frames in zip(clips[1:], plan.frames[1:], strict=True):
        # Each crossfade starts one overlap before the end of everything joined so far.
        offset = elapsed - plan.overlap
        joined = ffmpeg.filter(
            [joined, clip],
            "xfade",
            transition=fmt.transition,
            duration=f"{plan.overlap / fmt.fps:.6f}",
            offset=f"{offset / fmt.fps:.6f}",
        )
        elapsed = offset + frames
    return joined.filter("format", "yuv420p")


def _join_video(clips: list[Stream], plan: FramePlan, fmt: OutputFormat) -> Stream:
    """Bodies pass straight through; only the overlaps go through xfade, then all are concatenated.

    FFmpeg 5.1's xfade works in yuv444p only, so a plain xfade chain converts every frame of
    the ad twice; cutting each clip into head, body and tail confines that to the crossfades.
    """
    if len(clips) == 1:
        return clips[0]
    overlap, last = plan.overlap, len(clips) - 1
    if overlap <= 0:
        return ffmpeg.concat(*clips, v=1, a=0)
    if any(frames <= 2 * overlap for frames in plan.frames[1:-1]):
        # A middle clip too short for a body of its own: its two crossfades overlap.
        return _xfade_chain(clips, plan, fmt)
    parts: list[Stream] = []
    tail: Stream | None = None
    for index, (clip, frames) in enumerate(zip(clips, plan.frames, strict=True)):
        pieces = clip.split()
        body_start = overlap if index > 0 else 0
        body_end = frames - overlap if index < last else frames
        if tail is not None:
            head = _cut(pieces[0], 0, overlap)
            parts.append(_crossfade(tail, head, fmt.transition, overlap, fmt.fps))
        parts.append(_cut(pieces[1], body_start, body_end))
        tail = _cut(pieces[2], body_end, frames) if index < last else None
    return ffmpeg.concat(*parts, v=1, a=0)


def _encode_options(encode: Encode, fmt: OutputFormat) -> dict[str, Any]:
    options: dict[str, Any] = {"vcodec": "libx264", "preset": fmt.preset, "pix_fmt": "yuv420p"}
    if encode.crf is not None:
        options["crf"] = encode.crf
    if encode.video_kbps is not None:
        options["b:v"] = f"{int(encode.video_kbps)}k"
    if encode.pass_number:
        options["pass"] = encode.pass_number
        options["passlogfile"] = str(encode.passlog)
    if encode.threads:
        options["threads"] = encode.threads
    return options


def build_command(
    timeline: Timeline,
    sound: Sound,
    fmt: OutputFormat,
    output: Path,
    encode: Encode,
    captions: Path | None = None,
    overlays: Overlays | None = None,
) -> list[str]:
    """The full argv (starting with "ffmpeg") that renders the ad into ``output``.

    ``overlays`` (watermark, end card: ``overlays.py``) go over the joined picture, then
    ``captions``, an ASS file, last.
    """
    plan = frame_plan(timeline, fmt.fps)
    clips = [
        _video(s, n, fmt, i)
        for i, (s, n) in enumerate(zip(timeline.segments, plan.frames, strict=True))
    ]
    video = _join_video(clips, plan, fmt)
    if overlays is not None:
        video = burn_overlays(video, overlays, fmt.fps, plan.total)
    if captions is not None:
        video = burn_captions(video, captions, overlays)
    options = _encode_options(encode, fmt)
    if encode.pass_number == 1:
        # Pass 1 only measures the picture; its output is thrown away.
        stream = ffmpeg.output(video, "/dev/null", f="null", **options)
    else:
        audio = mastered(sound, fmt.loudness_lufs)
        streams = [video] if audio is None else [video, audio]
        if audio is not None:
            options.update({"acodec": "aac", "b:a": f"{encode.audio_kbps}k", "ar": SAMPLE_RATE})
        stream = ffmpeg.output(*streams, str(output), movflags="+faststart", f="mp4", **options)
    stream = stream.global_args("-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
    return list(stream.overwrite_output().compile(cmd="ffmpeg"))
