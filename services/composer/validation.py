"""Request rules of the composer: clip count and durations, transition, output size, loudness."""

from __future__ import annotations

from reelforge.runtime import page_tokens
from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.net_guard import BlockedURL, split_url
from reelforge.runtime.validation import MAX_URL_CHARS, Violations
from reelforge.v1 import common_pb2, composer_pb2

MIN_CLIPS, MAX_CLIPS = 1, 20
MIN_CLIP_S, MAX_CLIP_S = 0.5, 60.0
MAX_TOTAL_S = 180.0
MIN_HEIGHT, MAX_HEIGHT = 64, 4096
MIN_FPS, MAX_FPS = 1, 60
MIN_LUFS, MAX_LUFS = -70.0, -5.0
DEFAULT_TRANSITION = "fade"
DEFAULT_TRANSITION_S = 0.5
DEFAULT_FPS = 30
DEFAULT_LUFS = -14.0
# Smallest budget worth encoding: below this the picture is mush, so refuse it up front.
MIN_VIDEO_KBPS = 16.0

# Every xfade type FFmpeg 5.1+ knows, except "custom" (it needs an expression we do not accept).
XFADE_TRANSITIONS = frozenset(
    [
        "fade",
        "wipeleft",
        "wiperight",
        "wipeup",
        "wipedown",
        "slideleft",
        "slideright",
        "slideup",
        "slidedown",
        "circlecrop",
        "rectcrop",
        "distance",
        "fadeblack",
        "fadewhite",
        "radial",
        "smoothleft",
        "smoothright",
        "smoothup",
        "smoothdown",
        "circleopen",
        "circleclose",
        "vertopen",
        "vertclose",
        "horzopen",
        "horzclose",
        "dissolve",
        "pixelize",
        "diagtl",
        "diagtr",
        "diagbl",
        "diagbr",
        "hlslice",
        "hrslice",
        "vuslice",
        "vdslice",
        "hblur",
        "fadegrays",
        "wipetl",
        "wipetr",
        "wipebl",
        "wipebr",
        "squeezeh",
        "squeezev",
        "zoomin",
    ]
)


def source_problem(source: str) -> str | None:
    """Why ``source`` is neither an artifact id nor an http(s) URL, or None when it is one."""
    if not source.strip():
        return "must not be empty"
    if is_artifact_id(source):
        return None
    try:
        split_url(source)
    except BlockedURL:
        return "must be an artifact id (64 lower-case hex) or an http(s) URL"
    return None if len(source) <= MAX_URL_CHARS else f"must be at most {MAX_URL_CHARS} characters"


def transition_seconds(request: composer_pb2.ComposeRequest) -> float:
    """The crossfade length asked for, or the default when unset."""
    if request.HasField("transition_seconds"):
        return request.transition_seconds
    return DEFAULT_TRANSITION_S


def _check_clips(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    if not found.check(
        MIN_CLIPS <= len(request.clips) <= MAX_CLIPS,
        "clips",
        f"must hold {MIN_CLIPS}–{MAX_CLIPS} clips (got {len(request.clips)})",
    ):
        return
    for index, clip in enumerate(request.clips):
        if problem := source_problem(clip.source):
            found.add(f"clips[{index}].source", problem)
        if clip.target_duration_seconds != 0:
            found.range(
                clip.target_duration_seconds,
                f"clips[{index}].target_duration_seconds",
                MIN_CLIP_S,
                MAX_CLIP_S,
                "s",
            )
    targets = [c.target_duration_seconds for c in request.clips]
    if all(t > 0 for t in targets):
        total = sum(targets) - (len(targets) - 1) * transition_seconds(request)
        found.check(
            total <= MAX_TOTAL_S,
            "clips",
            f"the ad would last {total:.2f} s, more than {MAX_TOTAL_S:g} s",
        )


def _check_transition(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    if request.transition and request.transition not in XFADE_TRANSITIONS:
        found.add("transition", f"unknown xfade type {request.transition[:40]!r}")
    seconds = transition_seconds(request)
    if not found.check(
        seconds >= 0, "transition_seconds", f"must not be negative (got {seconds:g})"
    ):
        return
    known = [c.target_duration_seconds for c in request.clips if c.target_duration_seconds > 0]
    if len(request.clips) > 1 and known and seconds >= min(known):
        found.add(
            "transition_seconds",
            f"must be shorter than the shortest clip ({min(known):g} s), got {seconds:g}",
        )


def _check_output(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    if request.height:
        found.range(request.height, "height", MIN_HEIGHT, MAX_HEIGHT, "px")
        found.check(request.height % 2 == 0, "height", f"must be even (got {request.height})")
    if request.fps:
        found.range(request.fps, "fps", MIN_FPS, MAX_FPS)
    if request.HasField("loudness_lufs"):
        found.range(request.loudness_lufs, "loudness_lufs", MIN_LUFS, MAX_LUFS, "LUFS")
    found.check(
        request.aspect_ratio in common_pb2.AspectRatio.values(), "aspect_ratio", "unknown value"
    )
    found.check(request.tier in common_pb2.Tier.values(), "tier", "unknown value")
    found.check(request.max_size_bytes >= 0, "max_size_bytes", "must not be negative")
    if request.music and (problem := source_problem(request.music)):
        found.add("music", problem)


def _check_size_budget(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    """With every duration known, a size bound too small for any picture is refused up front."""
    targets = [c.target_duration_seconds for c in request.clips]
    if request.max_size_bytes <= 0 or not targets or not all(t > 0 for t in targets):
        return
    total = sum(targets) - (len(targets) - 1) * transition_seconds(request)
    if total > 0 and request.max_size_bytes * 8 / total / 1000 < MIN_VIDEO_KBPS * 2:
        found.add("max_size_bytes", f"too small for a {total:.2f} s video")


def compose_violations(request: composer_pb2.ComposeRequest) -> Violations:
    """Every rule a ComposeRequest breaks, for a caller that adds its own checks before raising."""
    found = Violations()
    _check_clips(request, found)
    _check_transition(request, found)
    _check_output(request, found)
    if not found:
        _check_size_budget(request, found)
    return found


def validate_compose(request: composer_pb2.ComposeRequest) -> None:
    """Raises InvalidArgument naming every bad field of a ComposeRequest."""
    compose_violations(request).raise_if_any()


def validate_id(value: str, field: str = "id") -> None:
    """A composition id: required, short, printable."""
    found = Violations()
    found.identifier(value, field)
    found.raise_if_any()


PAGE_TOKEN_HINT = "not a token from a previous ListCompositions answer"


def validate_list(request: composer_pb2.ListCompositionsRequest) -> None:
    """Page size 0–100 (0 means the default), a known state filter and a well-formed page token."""
    found = Violations()
    found.range(request.page_size, "page_size", 0, 100)
    found.check(
        request.state in composer_pb2.CompositionState.values(),
        "state",
        f"unknown value {request.state}",
    )
    if request.page_token:
        found.check(
            page_tokens.parse(request.page_token) is not None, "page_token", PAGE_TOKEN_HINT
        )
    found.raise_if_any()
