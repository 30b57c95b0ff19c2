"""Request rules of the planner service: text ≤ 2,000 characters, 1–50 messages, durations, counts.

Also the brief's brand kit and product images (artifact ids or https URLs, colours, counts),
and the limits of a scene plan a client sends back (an edited storyboard): text lengths,
and voice lines within their scenes' word budgets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.validation import MAX_TEXT_CHARS, MAX_URL_CHARS, Violations
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.plan_rules import FOCUS_AXES, MAX_CAMERA_MOTION_CHARS, MAX_CAPTION_CHARS
from services.planner.script_rules import WORDS_PER_SECOND, word_budget, word_count

MAX_MESSAGES = 50
MIN_DURATION_S, MAX_DURATION_S = 6.0, 120.0
MAX_MOODS = 6
MAX_STYLE_KEYWORDS = 20
MAX_KEY_MESSAGES = 10
MAX_PRODUCT_IMAGES = 4
MAX_BRAND_COLOURS = 6
MAX_TONE_WORDS = 10
MAX_BRAND_NAME_CHARS = 200
MAX_TONE_WORD_CHARS = 50
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_BRIEF_TEXT_FIELDS = (
    "product_name",
    "product_description",
    "target_audience",
    "tone",
    "call_to_action",
    "voice",
)
_SCENE_TEXT_LIMITS = (
    ("description", MAX_TEXT_CHARS),
    ("style_prompt", MAX_TEXT_CHARS),
    ("image_prompt", MAX_TEXT_CHARS),
    ("caption", MAX_CAPTION_CHARS),
    ("camera_motion", MAX_CAMERA_MOTION_CHARS),
    ("voice_line", MAX_TEXT_CHARS),
)
_MOOD_TEXT_FIELDS = ("id", "name", "description", "aesthetic_direction")


def validate_conversation(messages: Sequence[planner_pb2.ChatMessage]) -> None:
    """ConverseRequest and ExtractBriefRequest: 1–50 messages, known roles, text ≤ 2,000."""
    violations = Violations()
    _messages(violations, messages)
    violations.raise_if_any()


def validate_generate_moods(request: planner_pb2.GenerateMoodsRequest) -> None:
    violations = Violations()
    _required_brief(violations, request)
    violations.range(request.count, "count", 0, MAX_MOODS)
    violations.raise_if_any()


def validate_plan_scenes(request: planner_pb2.PlanScenesRequest) -> None:
    violations = Violations()
    _required_brief(violations, request)
    _duration(violations, request.duration_seconds, "duration_seconds")
    if request.HasField("mood"):
        _mood(violations, request.mood, "mood")
    violations.raise_if_any()


def validate_scene_plan(plan: common_pb2.ScenePlan, field: str) -> None:
    """A received plan's limits: each scene's text, and its voice line within its word budget."""
    violations = Violations()
    for index, scene in enumerate(plan.scenes):
        _scene(violations, scene, f"{field}.scenes[{index}]")
    violations.text(plan.music_prompt, f"{field}.music_prompt", required=False)
    violations.raise_if_any()


def _scene(violations: Violations, scene: common_pb2.Scene, prefix: str) -> None:
    for name, most in _SCENE_TEXT_LIMITS:
        violations.text(getattr(scene, name), f"{prefix}.{name}", required=False, max_chars=most)
    for axis in FOCUS_AXES:
        if scene.HasField(axis):
            violations.range(getattr(scene, axis), f"{prefix}.{axis}", 0, 1)
    budget = word_budget(scene.duration_seconds)
    words = word_count(scene.voice_line)
    violations.check(
        words <= budget,
        f"{prefix}.voice_line",
        f"must be at most {budget} words for {scene.duration_seconds:g} s "
        f"({WORDS_PER_SECOND:g} words per second; got {words})",
    )


def _messages(violations: Violations, messages: Sequence[planner_pb2.ChatMessage]) -> None:
    if not violations.check(bool(messages), "messages", "must hold at least one message"):
        return
    violations.check(
        len(messages) <= MAX_MESSAGES,
        "messages",
        f"must hold at most {MAX_MESSAGES} messages (got {len(messages)})",
    )
    for index, message in enumerate(messages):
        violations.check(
            message.role in planner_pb2.Role.values(),
            f"messages[{index}].role",
            f"unknown role {message.role}",
        )
        violations.text(message.content, f"messages[{index}].content", required=False)


def _required_brief(
    violations: Violations,
    request: planner_pb2.GenerateMoodsRequest | planner_pb2.PlanScenesRequest,
) -> None:
    if not request.HasField("brief"):
        violations.add("brief", "is required")
        return
    _brief(violations, request.brief, "brief")


def _brief(violations: Violations, brief: common_pb2.CreativeBrief, prefix: str) -> None:
    for name in _BRIEF_TEXT_FIELDS:
        violations.text(getattr(brief, name), f"{prefix}.{name}", required=name == "product_name")
    _text_list(
        violations,
        brief.visual_style_keywords,
        f"{prefix}.visual_style_keywords",
        MAX_STYLE_KEYWORDS,
    )
    _text_list(violations, brief.key_messages, f"{prefix}.key_messages", MAX_KEY_MESSAGES)
    _duration(violations, brief.duration_seconds, f"{prefix}.duration_seconds")
    check_brand(violations, brief, prefix)


def check_brand(violations: Violations, brief: common_pb2.CreativeBrief, prefix: str) -> None:
    """The brief's product images and brand kit (the studio checks them at its door too)."""
    _product_images(violations, brief.product_images, f"{prefix}.product_images")
    if brief.HasField("brand"):
        _brand(violations, brief.brand, f"{prefix}.brand")


def _product_images(violations: Violations, images: Sequence[str], field: str) -> None:
    _at_most(violations, images, field, MAX_PRODUCT_IMAGES, "images")
    for index, image in enumerate(images):
        _file_ref(violations, image, f"{field}[{index}]", urls=True)


def _brand(violations: Violations, brand: common_pb2.BrandKit, prefix: str) -> None:
    violations.text(brand.name, f"{prefix}.name", required=False, max_chars=MAX_BRAND_NAME_CHARS)
    if brand.logo:
        _file_ref(violations, brand.logo, f"{prefix}.logo", urls=True)
    for name in ("heading_font", "body_font"):
        if value := getattr(brand, name):
            _file_ref(violations, value, f"{prefix}.{name}", urls=False)
    _at_most(violations, brand.palette, f"{prefix}.palette", MAX_BRAND_COLOURS, "colours")
    _colours(violations, brand.palette, f"{prefix}.palette")
    _at_most(violations, brand.tone_words, f"{prefix}.tone_words", MAX_TONE_WORDS, "words")
    for index, word in enumerate(brand.tone_words):
        field = f"{prefix}.tone_words[{index}]"
        violations.text(word, field, required=True, max_chars=MAX_TONE_WORD_CHARS)


def _file_ref(violations: Violations, value: str, field: str, *, urls: bool) -> None:
    """An uploaded file's artifact id or, where ``urls``, an https URL (fetched later by the
    generator, which refuses private addresses); plain http is refused: it can be altered in
    transit and browsers block it as mixed content."""
    if is_artifact_id(value):
        return
    wanted = "an artifact id (an uploaded file's id: 64 lower-case hex characters)"
    if not urls:
        violations.add(field, f"must be {wanted} (got {value[:80]!r})")
    elif not value.startswith("https://") or len(value) <= len("https://"):
        violations.add(field, f"must be {wanted} or an https:// URL (got {value[:80]!r})")
    elif len(value) > MAX_URL_CHARS:
        violations.add(field, f"must be at most {MAX_URL_CHARS} characters (got {len(value)})")
    elif not value.isprintable() or " " in value:
        violations.add(field, "must not contain spaces or control characters")


def _colours(violations: Violations, colours: Sequence[str], field: str) -> None:
    for index, colour in enumerate(colours):
        violations.check(
            bool(_HEX_COLOUR.match(colour)),
            f"{field}[{index}]",
            f'must be a colour like "#1A2B3C" (got {colour[:20]!r})',
        )


def _mood(violations: Violations, mood: common_pb2.Mood, prefix: str) -> None:
    for name in _MOOD_TEXT_FIELDS:
        violations.text(getattr(mood, name), f"{prefix}.{name}", required=False)
    _text_list(violations, mood.style_keywords, f"{prefix}.style_keywords", MAX_STYLE_KEYWORDS)
    _text_list(violations, mood.image_prompts, f"{prefix}.image_prompts", MAX_STYLE_KEYWORDS)
    _colours(violations, mood.color_palette, f"{prefix}.color_palette")


def _at_most(
    violations: Violations, items: Sequence[str], field: str, most: int, noun: str = "items"
) -> None:
    violations.check(
        len(items) <= most, field, f"must hold at most {most} {noun} (got {len(items)})"
    )


def _text_list(violations: Violations, items: Sequence[str], field: str, most: int) -> None:
    _at_most(violations, items, field, most)
    for index, item in enumerate(items):
        violations.text(item, f"{field}[{index}]", required=False)


def _duration(violations: Violations, seconds: float, field: str) -> None:
    """0 means the default; anything else must be 6–120 seconds."""
    if seconds != 0:
        violations.range(
            seconds, field, MIN_DURATION_S, MAX_DURATION_S, "seconds (or 0 for the default)"
        )
