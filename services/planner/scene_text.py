"""Text written from the brief and mood: the offline planner's words, fill-ins, and media prompts."""

from __future__ import annotations

import re

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2
from services.planner.plan_rules import (
    CALL_TO_ACTION,
    FEATURE,
    HOOK,
    MAX_CAPTION_CHARS,
    PRODUCT_INTRO,
)
from services.planner.script_rules import (
    DEFAULT_CALL_TO_ACTION,
    MAX_CAPTION_WORDS,
    first_words,
    spoken_call_to_action,
    word_count,
)

_FEATURE_MOTIONS = ("slow pan left", "tracking shot", "gentle tilt up", "handheld close-up")
_CAMERA_MOTIONS: dict[int, str] = {
    HOOK: "fast push in",
    PRODUCT_INTRO: "slow orbit around the product",
    CALL_TO_ACTION: "slow pull back",
}


def product(brief: common_pb2.CreativeBrief) -> str:
    name = _short(brief.product_name, 80)
    return name if word_count(name) else "the product"


def first_tone_word(brief: common_pb2.CreativeBrief) -> str:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", brief.tone)
    return words[0].lower() if words else "confident"


def description(scene_type: int, brief: common_pb2.CreativeBrief, message: str = "") -> str:
    """What happens on screen in a scene of this type."""
    name = product(brief)
    audience = _short(brief.target_audience, 200) or "the viewer"
    if scene_type == HOOK:
        text = (
            f"An eye-catching opening for {audience}: a bold, {first_tone_word(brief)} moment "
            f"that stops the scroll just before {name} appears."
        )
    elif scene_type == PRODUCT_INTRO:
        about = _short(brief.product_description, 600)
        text = f"{name} is revealed in a clean hero shot" + (f": {about}" if about else ".")
    elif scene_type == CALL_TO_ACTION:
        text = (
            f'Closing shot of {name} with the call to action "{call_to_action(brief)}" on screen.'
        )
    else:
        text = f"{name} in action, showing: {_short(message, 600) or 'what makes it special'}."
    return cap(text, MAX_TEXT_CHARS)


def style_prompt(
    scene_description: str, brief: common_pb2.CreativeBrief, mood: common_pb2.Mood | None
) -> str:
    """A complete image prompt for the scene's first frame in the mood's look."""
    keywords = list(mood.style_keywords) if mood else []
    keywords = keywords or list(brief.visual_style_keywords) or ["cinematic", "clean"]
    parts = [
        _short(scene_description, 600).rstrip(". "),
        "vertical 9:16 cinematic frame",
        ", ".join(_short(k, 40) for k in keywords[:5]),
    ]
    if mood and mood.color_palette:
        parts.append("colour palette " + " ".join(mood.color_palette[:4]))
    if mood and mood.aesthetic_direction:
        parts.append(_short(mood.aesthetic_direction, 300))
    parts.append("no text in the image")
    return cap(", ".join(p for p in parts if p), MAX_TEXT_CHARS)


def caption(scene_type: int, brief: common_pb2.CreativeBrief, message: str = "") -> str:
    """Short on-screen text: a few words, never more than the caption limit."""
    if scene_type == HOOK:
        text = f"Ready for something {first_tone_word(brief)}?"
    elif scene_type == PRODUCT_INTRO:
        text = f"Meet {product(brief)}"
    elif scene_type == CALL_TO_ACTION:
        text = call_to_action(brief)
    else:
        text = message or product(brief)
    return cap(first_words(" ".join(text.split()), MAX_CAPTION_WORDS), MAX_CAPTION_CHARS)


def voice_line(
    scene_type: int, brief: common_pb2.CreativeBrief, most_words: int, message: str = ""
) -> str:
    """What the voice-over says during a scene of this type, in at most ``most_words`` words.

    The longest of a few wordings that fits; the shortest cut to size when none does.
    """
    if most_words <= 0:
        return ""
    name = product(brief)
    if scene_type == CALL_TO_ACTION:
        phrase = _sentence(spoken_call_to_action(brief, most_words))
        candidates = [f"{_sentence(name)} {phrase}", phrase]
    elif scene_type == HOOK:
        candidates = [f"Ready for something {first_tone_word(brief)}?", "Ready?"]
    elif scene_type == PRODUCT_INTRO:
        about = _first_sentence(brief.product_description)
        candidates = [f"Meet {name}. {about}", f"Meet {name}.", _sentence(name)]
    else:
        said = _short(message, 300) if word_count(message) else name
        candidates = [_sentence(said[:1].upper() + said[1:])]
    for line in candidates:
        if word_count(line) <= most_words:
            return line.strip()
    return first_words(candidates[-1], most_words)


def image_prompt(
    scene: common_pb2.Scene, brief: common_pb2.CreativeBrief, mood: common_pb2.Mood | None
) -> str:
    """The seed image's prompt: the scene's style prompt in the mood's look and keywords."""
    direction = mood.aesthetic_direction if mood else ""
    keywords = mood.style_keywords if mood else brief.visual_style_keywords
    text = f"{scene.style_prompt}. {direction} Style: {', '.join(keywords)}. Vertical 9:16."
    return cap(text, MAX_TEXT_CHARS)


def music_prompt(brief: common_pb2.CreativeBrief, mood: common_pb2.Mood | None) -> str:
    """The background track's prompt: instrumental, in the brief's tone and the mood's keywords."""
    keywords = mood.style_keywords if mood else brief.visual_style_keywords
    return cap(
        f"Instrumental background music, {brief.tone}, {', '.join(keywords)}", MAX_TEXT_CHARS
    )


def camera_motion(scene_type: int, feature_number: int = 0) -> str:
    if scene_type == FEATURE:
        return _FEATURE_MOTIONS[feature_number % len(_FEATURE_MOTIONS)]
    return _CAMERA_MOTIONS.get(scene_type, "static")


def call_to_action(brief: common_pb2.CreativeBrief) -> str:
    return _short(brief.call_to_action, 120) or DEFAULT_CALL_TO_ACTION


def _sentence(text: str) -> str:
    """``text`` ending as a sentence does."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else f"{text}."


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r".+?[.!?](?=\s|$)", flat)
    return match.group(0) if match else flat


def _short(text: str, limit: int) -> str:
    """Whitespace-collapsed text, cut at a word boundary near ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") or flat[:limit]


def cap(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
