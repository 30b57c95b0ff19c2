"""Request rules of the planner service: text ≤ 2,000 characters, 1–50 messages, durations, counts.

Also the limits of a scene plan a client sends back (an edited storyboard): text lengths,
and voice lines within their scenes' word budgets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reelforge.runtime.validation import MAX_TEXT_CHARS, Violations
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.plan_rules import MAX_CAMERA_MOTION_CHARS, MAX_CAPTION_CHARS
from services.planner.script_rules import WORDS_PER_SECOND, word_budget, word_count

MAX_MESSAGES = 50
MIN_DURATION_S, MAX_DURATION_S = 6.0, 120.0
MAX_MOODS = 6
MAX_STYLE_KEYWORDS = 20
MAX_KEY_MESSAGES = 10
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


def _mood(violations: Violations, mood: common_pb2.Mood, prefix: str) -> None:
    for name in _MOOD_TEXT_FIELDS:
        violations.text(getattr(mood, name), f"{prefix}.{name}", required=False)
    _text_list(violations, mood.style_keywords, f"{prefix}.style_keywords", MAX_STYLE_KEYWORDS)
    _text_list(violations, mood.image_prompts, f"{prefix}.image_prompts", MAX_STYLE_KEYWORDS)
    for index, colour in enumerate(mood.color_palette):
        violations.check(
            bool(_HEX_COLOUR.match(colour)),
            f"{prefix}.color_palette[{index}]",
            f'must be a colour like "#1A2B3C" (got {colour[:20]!r})',
        )


def _text_list(violations: Violations, items: Sequence[str], field: str, most: int) -> None:
    violations.check(
        len(items) <= most, field, f"must hold at most {most} items (got {len(items)})"
    )
    for index, item in enumerate(items):
        violations.text(item, f"{field}[{index}]", required=False)


def _duration(violations: Violations, seconds: float, field: str) -> None:
    """0 means the default; anything else must be 6–120 seconds."""
    if seconds != 0:
        violations.range(
            seconds, field, MIN_DURATION_S, MAX_DURATION_S, "seconds (or 0 for the default)"
        )
