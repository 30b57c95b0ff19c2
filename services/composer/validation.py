"""Request rules of the composer: clips and their focus points, transition, output size and fit,
loudness, voice, captions, the end card and watermark, idempotency."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reelforge.runtime import page_tokens
from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.encoding import DEFAULT_CROSSFADE_S
from reelforge.runtime.net_guard import BlockedURL, split_url
from reelforge.runtime.validation import MAX_URL_CHARS, Violations
from reelforge.v1 import common_pb2, composer_pb2
from services.composer.platforms import PLATFORMS

MIN_CLIPS, MAX_CLIPS = 1, 20
MIN_CLIP_S, MAX_CLIP_S = 0.5, 60.0
MAX_TOTAL_S = 180.0
MIN_HEIGHT, MAX_HEIGHT = 64, 4096
MIN_FPS, MAX_FPS = 1, 60
MIN_LUFS, MAX_LUFS = -70.0, -5.0
DEFAULT_TRANSITION = "fade"
DEFAULT_TRANSITION_S = DEFAULT_CROSSFADE_S
DEFAULT_FPS = 30
DEFAULT_LUFS = -14.0
MAX_VOICES = 40
MAX_WORDS = 2000  # per voice input
MAX_WORD_CHARS = 100
MAX_CAPTION_CHARS = 200  # as Scene.caption
MAX_FONT_CHARS = 100
MIN_CAPTION_SIZE, MAX_CAPTION_SIZE = 0.02, 0.15
MAX_OUTLINE = 0.02
MAX_REQUEST_ID_CHARS = 128
MAX_CARD_TEXT_CHARS = 100
MAX_PALETTE = 6  # as BrandKit.palette
MIN_CARD_S, MAX_CARD_S = 2.0, 3.0
DEFAULT_CARD_S = 2.5
MIN_OPACITY, MAX_OPACITY = 0.05, 1.0
DEFAULT_OPACITY = 0.8
MIN_WATERMARK_SIZE, MAX_WATERMARK_SIZE = 0.05, 0.4
DEFAULT_WATERMARK_SIZE = 0.15
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
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


def known_total_s(request: composer_pb2.ComposeRequest) -> float | None:
    """The ad's length when every clip has a target (else only the render's probe knows it)."""
    targets = [c.target_duration_seconds for c in request.clips]
    if not targets or not all(t > 0 for t in targets):
        return None
    return sum(targets) - (len(targets) - 1) * transition_seconds(request)


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
        _printable(clip.caption, f"clips[{index}].caption", MAX_CAPTION_CHARS, found)
        for axis in ("focus_x", "focus_y"):
            if clip.HasField(axis):
                found.range(getattr(clip, axis), f"clips[{index}].{axis}", 0, 1)
        if clip.target_duration_seconds != 0:
            found.range(
                clip.target_duration_seconds,
                f"clips[{index}].target_duration_seconds",
                MIN_CLIP_S,
                MAX_CLIP_S,
                "s",
            )
    if (total := known_total_s(request)) is not None:
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
    found.check(request.fit in common_pb2.Fit.values(), "fit", "unknown value")
    found.check(request.max_size_bytes >= 0, "max_size_bytes", "must not be negative")
    if request.music and (problem := source_problem(request.music)):
        found.add("music", problem)


def _check_size_budget(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    """With every duration known, a size bound too small for any picture is refused up front."""
    total = known_total_s(request)
    if request.max_size_bytes <= 0 or total is None:
        return
    if total > 0 and request.max_size_bytes * 8 / total / 1000 < MIN_VIDEO_KBPS * 2:
        found.add("max_size_bytes", f"too small for a {total:.2f} s video")


def _printable(value: str, field: str, max_chars: int, found: Violations) -> None:
    """Optional text shown or stored as is: at most ``max_chars``, no control characters."""
    found.text(value, field, required=False, max_chars=max_chars)
    found.check(value.isprintable(), field, "must not contain control characters")


def _check_words(words: Sequence[common_pb2.WordTiming], field: str, found: Violations) -> None:
    """Each word: text, a start ≥ 0 not before the previous word's, an end after its start."""
    if not found.check(len(words) <= MAX_WORDS, field, f"must hold at most {MAX_WORDS} words"):
        return
    previous_s = 0.0
    for index, word in enumerate(words):
        at = f"{field}[{index}]"
        found.text(word.word, f"{at}.word", required=True, max_chars=MAX_WORD_CHARS)
        found.range(word.start_seconds, f"{at}.start_seconds", 0, MAX_TOTAL_S, "s")
        found.check(
            word.start_seconds >= previous_s,
            f"{at}.start_seconds",
            f"must not be before the previous word's start ({previous_s:g} s)",
        )
        found.check(
            word.end_seconds > word.start_seconds,
            f"{at}.end_seconds",
            f"must be after start_seconds (got {word.end_seconds:g} ≤ {word.start_seconds:g})",
        )
        previous_s = max(previous_s, word.start_seconds)


def _check_voice(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    if not found.check(
        len(request.voice) <= MAX_VOICES, "voice", f"must hold at most {MAX_VOICES} inputs"
    ):
        return
    total = known_total_s(request)
    for index, voice in enumerate(request.voice):
        if problem := source_problem(voice.source):
            found.add(f"voice[{index}].source", problem)
        start_field = f"voice[{index}].start_seconds"
        found.range(voice.start_seconds, start_field, 0, MAX_TOTAL_S, "s")
        if total is not None:
            found.check(
                voice.start_seconds < total,
                start_field,
                f"must be before the ad ends ({total:.2f} s), got {voice.start_seconds:g}",
            )
        _check_words(voice.words, f"voice[{index}].words", found)


def _check_source(value: str, field: str, found: Violations) -> None:
    """An optional source (artifact id or URL): empty is fine, anything else must be one."""
    if value and (problem := source_problem(value)):
        found.add(field, problem)


def _check_colours(colours: Sequence[str], field: str, found: Violations) -> None:
    for index, colour in enumerate(colours):
        found.check(
            bool(_COLOUR.fullmatch(colour)),
            f"{field}[{index}]",
            f"must be #RRGGBB (got {colour[:20]!r})",
        )


def card_seconds(card: composer_pb2.EndCard) -> float:
    """How long the end card shows: the request's, or the default for 0."""
    return card.duration_seconds or DEFAULT_CARD_S


def _check_end_card(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    if not request.HasField("end_card"):
        return
    card, field = request.end_card, "end_card"
    for name in ("logo", "heading_font", "body_font", "product_image"):
        _check_source(getattr(card, name), f"{field}.{name}", found)
    _printable(card.headline, f"{field}.headline", MAX_CARD_TEXT_CHARS, found)
    _printable(card.call_to_action, f"{field}.call_to_action", MAX_CARD_TEXT_CHARS, found)
    found.check(
        bool(card.logo or card.headline.strip() or card.call_to_action.strip()),
        field,
        "needs a logo, a headline or a call_to_action",
    )
    if found.check(
        len(card.palette) <= MAX_PALETTE,
        f"{field}.palette",
        f"must hold at most {MAX_PALETTE} colours",
    ):
        _check_colours(card.palette, f"{field}.palette", found)
    if card.duration_seconds:
        found.range(card.duration_seconds, f"{field}.duration_seconds", MIN_CARD_S, MAX_CARD_S, "s")
    total = known_total_s(request)
    if total is not None:
        found.check(
            card_seconds(card) <= total,
            f"{field}.duration_seconds",
            f"the card ({card_seconds(card):g} s) must not be longer than the ad ({total:.2f} s)",
        )


def _check_watermark(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    if not request.HasField("watermark"):
        return
    mark, field = request.watermark, "watermark"
    if problem := source_problem(mark.logo):
        found.add(f"{field}.logo", problem)
    found.check(mark.corner in composer_pb2.Corner.values(), f"{field}.corner", "unknown value")
    if mark.HasField("opacity"):
        found.range(mark.opacity, f"{field}.opacity", MIN_OPACITY, MAX_OPACITY)
    if mark.size:
        found.range(mark.size, f"{field}.size", MIN_WATERMARK_SIZE, MAX_WATERMARK_SIZE)


def _check_style(style: composer_pb2.CaptionStyle, found: Violations) -> None:
    field = "captions.style"
    _check_source(style.font_file, f"{field}.font_file", found)
    _printable(style.font, f"{field}.font", MAX_FONT_CHARS, found)
    # A comma would end the font's field in the ASS style line.
    found.check("," not in style.font, f"{field}.font", "must not contain commas")
    if style.size:
        found.range(style.size, f"{field}.size", MIN_CAPTION_SIZE, MAX_CAPTION_SIZE)
    for name in ("colour", "highlight_colour", "outline_colour"):
        value = getattr(style, name)
        if value and not _COLOUR.fullmatch(value):
            found.add(f"{field}.{name}", f"must be #RRGGBB (got {value[:20]!r})")
    if style.HasField("outline"):
        found.range(style.outline, f"{field}.outline", 0, MAX_OUTLINE)


def _check_captions(request: composer_pb2.ComposeRequest, found: Violations) -> None:
    mode = request.captions.mode
    if not found.check(
        mode in composer_pb2.CaptionMode.values(), "captions.mode", f"unknown value {mode}"
    ):
        return
    if mode == composer_pb2.CAPTION_MODE_WORDS:
        found.check(
            any(v.words for v in request.voice),
            "captions.mode",
            "WORDS needs word timings (voice[].words)",
        )
    _check_style(request.captions.style, found)
    if request.platform:
        found.check(
            request.platform in PLATFORMS,
            "platform",
            f"unknown platform {request.platform[:40]!r}; one of {', '.join(PLATFORMS)}",
        )


def compose_violations(request: composer_pb2.ComposeRequest) -> Violations:
    """Every rule a ComposeRequest breaks, for a caller that adds its own checks before raising."""
    found = Violations()
    _check_clips(request, found)
    _check_transition(request, found)
    _check_output(request, found)
    _check_voice(request, found)
    _check_captions(request, found)
    _check_end_card(request, found)
    _check_watermark(request, found)
    _printable(request.request_id, "request_id", MAX_REQUEST_ID_CHARS, found)
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
