"""Offline animatic clips: a Ken Burns move (FFmpeg ``zoompan``) over a still, as H.264 MP4.

The clip has exactly ``round(duration_s × fps)`` frames. The move is named by the ``motion`` hint
when it names one ("push in", "pan left", …), else picked from the seed and the image's bytes.

Clips are encoded as the composer encodes an ad's pieces (the tier's x264 preset and CRF,
``reelforge/runtime/encoding.py``) with a GOP starting wherever the default crossfade can begin
or end, so the composer copies a clip's caption-free body into the ad instead of encoding those
pixels a second time (``services/composer/ready_clips.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from reelforge.runtime.encoding import ready_keyframes
from services.generator.animatic._common import (
    RenderError,
    check_duration,
    derive_seed,
    ffmpeg_to_file,
)

MAX_SIDE = 4096
MAX_FPS = 120


class Motion(StrEnum):
    PUSH_IN = "push_in"
    PULL_OUT = "pull_out"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    PAN_UP = "pan_up"
    PAN_DOWN = "pan_down"


# Checked in order; within a hint the earliest match wins ("pan left then push in" → pan left).
_MOTION_WORDS: tuple[tuple[Motion, str], ...] = (
    (Motion.PUSH_IN, r"(?:push|zoom|dolly|mov|punch|close|creep)\w* ?in(?:wards?)?|push\w*|static|still|locked(?: off)?"),
    (Motion.PULL_OUT, r"(?:pull|zoom|dolly|mov)\w* ?(?:out|back)(?:wards?)?|reveal\w*|widen\w*|pull\w*"),
    (Motion.PAN_LEFT, r"(?:pan|truck|track|slide|mov|drift|sweep)\w* (?:to (?:the )?)?left|leftwards?"),
    (Motion.PAN_RIGHT, r"(?:pan|truck|track|slide|mov|drift|sweep)\w* (?:to (?:the )?)?right|rightwards?"),
    (Motion.PAN_UP, r"(?:pan|tilt|crane|pedestal|boom|mov|drift)\w* ?up(?:wards?)?|rise|rising"),
    (Motion.PAN_DOWN, r"(?:pan|tilt|crane|pedestal|boom|mov|drift)\w* ?down(?:wards?)?|descend\w*"),
)  # fmt: skip
_MOTION_RE = [(motion, re.compile(rf"\b(?:{words})\b")) for motion, words in _MOTION_WORDS]
_SUBTLE = re.compile(r"\b(?:static|still|locked(?: off)?|subtle|slow|gentle)\b")


def motion_from_text(text: str) -> Motion | None:
    """The move a hint such as "slow push-in" or "Pan_Left" names; None when it names none."""
    norm = re.sub(r"[\s_\-]+", " ", text.lower())
    hits = [
        (m.start(), i, motion)
        for i, (motion, rx) in enumerate(_MOTION_RE)
        if (m := rx.search(norm))
    ]
    return min(hits)[2] if hits else None


@dataclass(frozen=True)
class MotionPlan:
    """A Ken Burns move: zoom from ``zoom_start`` to ``zoom_end`` (1 = the whole frame) while the
    window's position in the free margin goes from (x_start, y_start) to (x_end, y_end), 0–1."""

    motion: Motion
    zoom_start: float
    zoom_end: float
    x_start: float
    x_end: float
    y_start: float
    y_end: float


def plan_motion(motion: str, seed: int, salt: str | bytes = b"") -> MotionPlan:
    """The move for a hint, or for the seed when the hint names none; amounts vary with the seed."""
    rng = random.Random(derive_seed(seed, "clip", salt, motion))
    chosen = motion_from_text(motion) or rng.choice(list(Motion))
    subtle = bool(_SUBTLE.search(motion.lower()))
    # Depths and anchors keep the middle 76% × 10–85% of the frame (the animatic caption) in view.
    depth = rng.uniform(1.05, 1.08) if subtle else rng.uniform(1.12, 1.2)
    ax, ay = rng.uniform(0.35, 0.65), rng.uniform(0.3, 0.6)  # Where a zoom heads.
    if chosen is Motion.PUSH_IN:
        return MotionPlan(chosen, 1.0, depth, ax, ax, ay, ay)
    if chosen is Motion.PULL_OUT:
        return MotionPlan(chosen, depth, 1.0, ax, ax, ay, ay)
    drift = rng.uniform(1.0, 1.02)  # A pan also creeps in a little, for life.
    zoom = rng.uniform(1.1, 1.12) if not subtle else rng.uniform(1.06, 1.08)
    if chosen is Motion.PAN_LEFT:
        return MotionPlan(chosen, zoom, zoom * drift, 1.0, 0.0, ay, ay)
    if chosen is Motion.PAN_RIGHT:
        return MotionPlan(chosen, zoom, zoom * drift, 0.0, 1.0, ay, ay)
    if chosen is Motion.PAN_UP:
        return MotionPlan(chosen, zoom, zoom * drift, ax, ax, 1.0, 0.0)
    return MotionPlan(chosen, zoom, zoom * drift, ax, ax, 0.0, 1.0)


def _lerp(a: float, b: float, p: str) -> str:
    return f"{a:.6f}" if a == b else f"({a:.6f}+({b - a:.6f})*{p})"


def zoompan_filter(
    plan: MotionPlan, *, frames: int, width: int, height: int, fps: int, supersample: int = 2
) -> str:
    """The -vf chain: cover-crop the still to the frame at ``supersample``× (zoompan rounds its
    window to whole pixels, so a larger source makes the move smooth), zoompan, then yuv420p.

    Zoom is interpolated geometrically (a steady perceived speed) and the window is placed in the
    free margin ``iw-iw/zoom``, so it never leaves the image.
    """
    big_w, big_h = width * supersample, height * supersample
    p = f"(on/{max(1, frames - 1)})"
    z0, z1 = plan.zoom_start, plan.zoom_end
    zoom = f"{z0:.6f}" if z0 == z1 else f"{z0:.6f}*pow({z1 / z0:.8f},{p})"
    x = f"(iw-iw/zoom)*{_lerp(plan.x_start, plan.x_end, p)}"
    y = f"(ih-ih/zoom)*{_lerp(plan.y_start, plan.y_end, p)}"
    return ",".join(
        (
            f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase:flags=lanczos",
            f"crop={big_w}:{big_h}",
            "format=rgb24",
            f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps}",
            "format=yuv420p",
            "setsar=1",
        )
    )


async def render_clip(
    *,
    image: Path,
    duration_s: float,
    width: int,
    height: int,
    fps: int,
    seed: int,
    dest: Path,
    motion: str = "",
    preset: str = "veryfast",
    crf: int = 23,
    threads: int = 2,
    supersample: int = 2,
    ready_for_crossfade_s: float | None = None,
) -> None:
    """Writes an H.264 MP4 (yuv420p, +faststart, no audio) of a Ken Burns move over ``image``.

    Exactly ``round(duration_s × fps)`` frames (at least one). With ``ready_for_crossfade_s``,
    GOPs start where a crossfade of that length can begin or end (``ready_keyframes``). ``width`` and ``height`` must be
    even (yuv420p). ``seed`` 0 picks the move from the image's bytes alone. FFmpeg runs with at
    most ``threads`` threads; cancelling the call kills it and removes the partial file.
    Raises RenderError on FFmpeg failure or an unreadable image, ValueError on bad arguments.
    """
    duration = check_duration(duration_s)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width % 2 or height % 2:
        raise ValueError(f"width and height must be even and 2–{MAX_SIDE} px, got {width}×{height}")
    if not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps must be 1–{MAX_FPS}, got {fps}")
    if not 1 <= supersample <= 4:
        raise ValueError(f"supersample must be 1–4, got {supersample}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be 0–51, got {crf}")
    try:
        source, digest = await asyncio.to_thread(_read_source, image)
    except OSError as exc:
        raise RenderError(f"clip: cannot read image {image}: {exc.strerror or exc}") from exc
    frames = max(1, round(duration * fps))
    plan = plan_motion(motion, seed, digest)
    vf = zoompan_filter(
        plan, frames=frames, width=width, height=height, fps=fps, supersample=supersample
    )
    bounded = str(max(1, threads))
    keyframes = ready_keyframes(frames, fps, ready_for_crossfade_s) if ready_for_crossfade_s else []
    forced = "+".join(f"eq(n,{at})" for at in keyframes)
    args = [
        "-filter_threads", bounded,
        "-i", str(source),
        "-vf", vf,
        "-frames:v", str(frames),
        "-r", str(fps),
        "-an", "-sn", "-dn",
        "-map_metadata", "-1",
        "-c:v", "libx264",
        "-preset", preset,
        "-crf", str(crf),
        "-pix_fmt", "yuv420p",
        "-profile:v", "high",
        *(["-force_key_frames", f"expr:{forced}"] if forced else []),
        "-threads", bounded,
        "-movflags", "+faststart",
        "-f", "mp4",
    ]  # fmt: skip
    await ffmpeg_to_file(args, dest, what=f"clip {dest.name}")


def _read_source(path: Path) -> tuple[Path, str]:
    """The image's absolute path (an argument FFmpeg cannot mistake for an option) and sha256."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return path.absolute(), digest.hexdigest()
