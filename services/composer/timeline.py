"""The ad's timeline: how long each clip stays on screen once probed, and the total length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from reelforge.runtime.media import MediaInfo
from reelforge.v1 import composer_pb2
from services.composer.render_errors import RenderFailed
from services.composer.validation import MAX_CLIP_S, MAX_TOTAL_S, MIN_CLIP_S

# Containers and ffprobe round durations; a clip this much shorter than its target still counts
# as long enough (the store's recorded duration and the render's probe use the same rule).
SHORT_TOLERANCE_S = 0.05
# Where a clip's subject is, as fractions of its width and height: unset means the centre.
CENTRE = (0.5, 0.5)


def long_enough(duration_s: float, target_s: float) -> bool:
    """Whether a clip of ``duration_s`` can fill ``target_s`` on screen without holding a frame."""
    return duration_s + SHORT_TOLERANCE_S >= target_s


@dataclass(frozen=True)
class ProbedInput:
    """A local media file and what ffprobe found in it."""

    field: str  # "clips[2]" or "music": how errors name it
    path: Path
    info: MediaInfo


@dataclass(frozen=True)
class Segment:
    """One clip on the timeline: ``duration`` seconds on screen, the last ``hold_s`` a frozen
    frame; a frame of another shape is cropped around ``focus`` (x, y fractions of the clip)."""

    input: ProbedInput
    duration: float
    hold_s: float = 0.0
    focus: tuple[float, float] = CENTRE


def clip_focus(clip: composer_pb2.ClipInput) -> tuple[float, float]:
    """The (validated) focus point of ``clip``, each unset coordinate the centre's."""
    x = clip.focus_x if clip.HasField("focus_x") else CENTRE[0]
    y = clip.focus_y if clip.HasField("focus_y") else CENTRE[1]
    return x, y


@dataclass(frozen=True)
class Timeline:
    segments: list[Segment]
    transition_s: float

    @property
    def total_s(self) -> float:
        """Σ durations − (n−1) × transition: each crossfade overlaps two clips."""
        return sum(s.duration for s in self.segments) - (len(self.segments) - 1) * self.transition_s

    @property
    def has_clip_audio(self) -> bool:
        return any(s.input.info.has_audio for s in self.segments)


def _segment(clip: ProbedInput, target: float, hold_last_frame: bool) -> Segment:
    probed = clip.info.duration_seconds
    if not clip.info.has_video:
        raise RenderFailed.at(clip.field, "has no video stream")
    if target <= 0:
        # No target: the clip plays whole, so its own length must be within the limits.
        if not MIN_CLIP_S <= probed <= MAX_CLIP_S:
            raise RenderFailed.at(
                clip.field, f"lasts {probed:.2f} s, outside {MIN_CLIP_S:g}–{MAX_CLIP_S:g} s"
            )
        return Segment(clip, probed)
    if long_enough(probed, target):
        return Segment(clip, target)
    if hold_last_frame:
        return Segment(clip, target, hold_s=target - probed)
    raise RenderFailed.at(
        clip.field,
        f"lasts {probed:.2f} s, shorter than its target_duration_seconds {target:g} s "
        "(set hold_last_frame to hold its last frame)",
    )


def build_timeline(
    clips: list[ProbedInput],
    targets: list[float],
    transition_s: float,
    hold_last_frame: bool,
    focus: Sequence[tuple[float, float]] = (),
) -> Timeline:
    """Checks the probed clips against targets and limits; RenderFailed names the culprit.
    ``focus`` holds each clip's focus point (empty: every clip's is the centre)."""
    segments = [_segment(c, t, hold_last_frame) for c, t in zip(clips, targets, strict=True)]
    if focus:
        segments = [replace(s, focus=f) for s, f in zip(segments, focus, strict=True)]
    timeline = Timeline(segments, transition_s)
    if len(segments) > 1:
        shortest = min(segments, key=lambda s: s.duration)
        if transition_s >= shortest.duration:
            raise RenderFailed.at(
                shortest.input.field,
                f"lasts {shortest.duration:.2f} s, not longer than the {transition_s:g} s transition",
            )
    if timeline.total_s > MAX_TOTAL_S:
        raise RenderFailed(f"the ad would last {timeline.total_s:.2f} s, over {MAX_TOTAL_S:g} s")
    return timeline
