"""What a request's voice words and captions become on the laid-out timeline: the spoken words
in ad time (for captions and subtitle files) and the ASS document to burn in, if any.

Captions stop where the end card starts (it carries its own text); the subtitle files keep
every word, since the voice goes on under the card. A brand font file replaces the style's
family and is used as designed (its own weight, no synthetic bold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reelforge.v1 import common_pb2, composer_pb2
from services.composer.brand_images import FontFile
from services.composer.captions import (
    CaptionStyle,
    SceneCaption,
    Word,
    scenes_document,
    words_document,
)
from services.composer.platforms import PLATFORMS, Platform
from services.composer.timeline import Timeline
from services.composer.validation import card_seconds

_PLATFORM_BY_ASPECT = {
    common_pb2.ASPECT_RATIO_UNSPECIFIED: "tiktok",
    common_pb2.ASPECT_RATIO_9_16: "tiktok",
    common_pb2.ASPECT_RATIO_16_9: "landscape",
    common_pb2.ASPECT_RATIO_1_1: "square",
    common_pb2.ASPECT_RATIO_4_5: "feed",
}
_DEFAULT_OUTLINE = CaptionStyle().outline_width


def spoken_words(voices: Sequence[composer_pb2.VoiceInput], total_s: float) -> list[Word]:
    """Every voice word in ad time (its voice's start + its own), in order of start. Words
    starting after the ad ends are dropped, a word running past the end is cut there."""
    words = [
        Word(
            w.word, v.start_seconds + w.start_seconds, min(v.start_seconds + w.end_seconds, total_s)
        )
        for v in voices
        for w in v.words
        if v.start_seconds + w.start_seconds < total_s
    ]
    return sorted(words, key=lambda word: word.start_s)


def scene_captions(
    clips: Sequence[composer_pb2.ClipInput], timeline: Timeline
) -> list[SceneCaption]:
    """Each clip's caption over its time on screen; a crossfade is split at its middle, so two
    scene captions never show at once."""
    half = timeline.transition_s / 2
    captions, start_s, last = [], 0.0, len(timeline.segments) - 1
    for index, (clip, segment) in enumerate(zip(clips, timeline.segments, strict=True)):
        shown_s = start_s + (half if index else 0.0)
        end_s = start_s + segment.duration - (half if index < last else 0.0)
        captions.append(SceneCaption(clip.caption, shown_s, end_s))
        start_s += segment.duration - timeline.transition_s
    return captions


def caption_mode(request: composer_pb2.ComposeRequest) -> composer_pb2.CaptionMode.ValueType:
    """The mode asked for; unspecified means words if any, else scene captions if any, else off."""
    if request.captions.mode != composer_pb2.CAPTION_MODE_UNSPECIFIED:
        return request.captions.mode
    if any(v.words for v in request.voice):
        return composer_pb2.CAPTION_MODE_WORDS
    if any(c.caption.strip() for c in request.clips):
        return composer_pb2.CAPTION_MODE_SCENES
    return composer_pb2.CAPTION_MODE_OFF


def platform(request: composer_pb2.ComposeRequest) -> Platform:
    """The platform asked for, else the one whose shape the ad has."""
    return PLATFORMS[request.platform or _PLATFORM_BY_ASPECT[request.aspect_ratio]]


def card_start_s(request: composer_pb2.ComposeRequest, total_s: float) -> float:
    """Where the end card starts in the ad; infinity without one."""
    if not request.HasField("end_card"):
        return math.inf
    return max(0.0, total_s - card_seconds(request.end_card))


def caption_style(style: composer_pb2.CaptionStyle, font: FontFile | None = None) -> CaptionStyle:
    """The request's style over the defaults (empty or zero fields keep the default); the
    brand's ``font`` file, when given, replaces the family."""
    default = CaptionStyle()
    if font is not None:
        family, file, bold = font.family, str(font.path), False
    else:
        family, file, bold = style.font or default.font, "", default.bold
    return CaptionStyle(
        font=family,
        font_file=file,
        bold=bold,
        size=style.size or default.size,
        colour=style.colour or default.colour,
        highlight=style.highlight_colour or default.highlight,
        outline=style.outline_colour or default.outline,
        outline_width=style.outline if style.HasField("outline") else _DEFAULT_OUTLINE,
        uppercase=style.uppercase,
    )


def captions_document(
    request: composer_pb2.ComposeRequest,
    timeline: Timeline,
    size: tuple[int, int],
    words: Sequence[Word],
    font: FontFile | None = None,
) -> str | None:
    """The ASS document to burn into a ``size`` (width, height) picture; None for no captions.
    ``font`` is the brand's caption font (``overlays.Overlays.caption_font``)."""
    mode = caption_mode(request)
    width, height = size
    place, style = platform(request), caption_style(request.captions.style, font)
    until_s = card_start_s(request, timeline.total_s)
    if mode == composer_pb2.CAPTION_MODE_WORDS and words:
        return words_document(words, width, height, place, style, until_s)
    if mode == composer_pb2.CAPTION_MODE_SCENES:
        scenes = [
            SceneCaption(c.text, c.start_s, min(c.end_s, until_s))
            for c in scene_captions(request.clips, timeline)
            if c.start_s < until_s
        ]
        if any(scene.text.strip() for scene in scenes):
            return scenes_document(scenes, width, height, place, style)
    return None
