"""Which brief fields are required, the questions for missing ones, and the offline extractor.

The offline extractor reads only user messages and understands:

* labelled lines ``label: value`` (or ``label = value``), labels case-insensitive:
  product / product name / name / brand; description / product description / about;
  audience / target audience / target; tone / mood / feel / vibe;
  style / visual style / look / keywords / aesthetic (a list);
  key message(s) / message(s) / feature(s) / benefit(s) (a list);
  cta / call to action; duration / length (seconds, e.g. ``30`` or ``30s``);
  voice / voice-over / narration (``none``, ``no`` or ``off`` → ``none``: no voice-over);
* a few phrases in free text, used only when no labelled line gave the field:
  "called X" / "named X", "aimed at X" / "targeting X" / "audience is X",
  "tone is X" / "should feel X", "call to action is X", "N-second" / "N seconds".

Durations outside 6–120 s are ignored (left 0). Lists are split on ``;`` or ``|`` when present, else on commas. A later message
overrides an earlier one for a text field; list items accumulate without duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2, planner_pb2
from services.planner.prompts import MISSING_FIELD_QUESTIONS
from services.planner.providers.base import ChatTurn
from services.planner.script_rules import VOICE_OFF

REQUIRED_FIELDS = (
    "product_name",
    "product_description",
    "target_audience",
    "tone",
    "call_to_action",
)
MIN_DURATION_S = 6.0
MAX_DURATION_S = 120.0
_LIST_FIELDS = ("visual_style_keywords", "key_messages")
_LABELS: dict[str, str] = {
    **dict.fromkeys(["product", "product name", "name", "brand"], "product_name"),
    **dict.fromkeys(["description", "product description", "about"], "product_description"),
    **dict.fromkeys(["audience", "target audience", "target"], "target_audience"),
    **dict.fromkeys(["tone", "mood", "feel", "vibe", "emotional tone"], "tone"),
    **dict.fromkeys(
        ["style", "visual style", "look", "keywords", "aesthetic", "visual style keywords"],
        "visual_style_keywords",
    ),
    **dict.fromkeys(
        [
            "key message",
            "key messages",
            "message",
            "messages",
            "feature",
            "features",
            "benefit",
            "benefits",
        ],
        "key_messages",
    ),
    **dict.fromkeys(["cta", "call to action"], "call_to_action"),
    **dict.fromkeys(["duration", "length"], "duration_seconds"),
    **dict.fromkeys(["voice", "voice over", "voiceover", "narration"], "voice"),
}
# What people write for "no voice-over"; the contract's word for it is VOICE_OFF.
_NO_VOICE = frozenset({"none", "no", "off", "false", "without", "no voice", "no voice-over"})
_LABELLED_LINE = re.compile(r"^\s*[-*]?\s*([A-Za-z][A-Za-z _-]{1,30}?)\s*[:=]\s*(.+?)\s*$")
_PHRASE_STOP = r"(?=[.!?;\n]|,\s|$)"
_PHRASES: list[tuple[str, re.Pattern[str]]] = [
    ("product_name", re.compile(r"\b(?:called|named)\s+[\"“']?([^\"”'.!?;,\n]{1,60})", re.I)),
    (
        "target_audience",
        re.compile(rf"\b(?:aimed at|targeting|audience is)\s+(.{{2,200}}?){_PHRASE_STOP}", re.I),
    ),
    ("tone", re.compile(rf"\b(?:tone is|should feel)\s+(.{{2,200}}?){_PHRASE_STOP}", re.I)),
    (
        "call_to_action",
        re.compile(rf"\bcall to action is\s+[\"“']?(.{{2,200}}?)[\"”']?{_PHRASE_STOP}", re.I),
    ),
]
_DURATION = re.compile(r"\b(\d{1,3}(?:\.\d+)?)\s*(?:-\s*)?(?:s|sec|secs|second|seconds)\b", re.I)


def missing_fields(brief: common_pb2.CreativeBrief) -> list[planner_pb2.MissingField]:
    """Required fields that are blank, each with the question to ask for it."""
    return [
        planner_pb2.MissingField(field=name, question=MISSING_FIELD_QUESTIONS[name])
        for name in REQUIRED_FIELDS
        if not getattr(brief, name).strip()
    ]


def extract_offline(turns: Sequence[ChatTurn]) -> common_pb2.CreativeBrief:
    """The rule-based extractor described in the module docstring."""
    brief = common_pb2.CreativeBrief()
    labelled: set[str] = set()
    user_texts = [turn.content for turn in turns if turn.role == "user"]
    for text in user_texts:
        for line in text.splitlines():
            labelled.update(_apply_labelled_line(brief, line))
    for text in user_texts:
        _apply_phrases(brief, text, skip=labelled)
    return brief


def _apply_labelled_line(brief: common_pb2.CreativeBrief, line: str) -> Iterable[str]:
    match = _LABELLED_LINE.match(line)
    if not match:
        return ()
    field = _LABELS.get(re.sub(r"[\s_-]+", " ", match.group(1).strip().lower()))
    value = match.group(2).strip()
    if field is None or not value:
        return ()
    if field in _LIST_FIELDS:
        _extend_unique(getattr(brief, field), _split_list(value))
    elif field == "voice":
        brief.voice = VOICE_OFF if value.lower().rstrip(".!") in _NO_VOICE else value
    elif field == "duration_seconds":
        number = re.match(r"\d{1,3}(?:\.\d+)?", value)
        if not number:
            return ()
        brief.duration_seconds = _usable_duration(float(number.group(0)))
    else:
        setattr(brief, field, value)
    return (field,)


def _apply_phrases(brief: common_pb2.CreativeBrief, text: str, *, skip: set[str]) -> None:
    for field, pattern in _PHRASES:
        if field not in skip and (match := pattern.search(text)):
            setattr(brief, field, match.group(1).strip())
    if "duration_seconds" not in skip and (match := _DURATION.search(text)):
        brief.duration_seconds = _usable_duration(float(match.group(1)))


def sanitize_brief(brief: common_pb2.CreativeBrief) -> common_pb2.CreativeBrief:
    """Keeps a provider's brief within the contract's limits (text length, list sizes, duration)."""
    clean = common_pb2.CreativeBrief()
    for name in (*REQUIRED_FIELDS, "voice"):
        setattr(clean, name, getattr(brief, name).strip()[:MAX_TEXT_CHARS])
    for name, limit in (("visual_style_keywords", 20), ("key_messages", 10)):
        items = [item.strip()[:MAX_TEXT_CHARS] for item in getattr(brief, name)]
        _extend_unique(getattr(clean, name), [item for item in items if item][:limit])
    clean.duration_seconds = _usable_duration(brief.duration_seconds)
    return clean


def _usable_duration(seconds: float) -> float:
    return seconds if MIN_DURATION_S <= seconds <= MAX_DURATION_S else 0.0


def _split_list(value: str) -> list[str]:
    separator = ";" if ";" in value else "|" if "|" in value else ","
    return [item.strip() for item in value.split(separator) if item.strip()]


def _extend_unique(target: list[str], items: Iterable[str]) -> None:
    seen = {item.lower() for item in target}
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            target.append(item)
