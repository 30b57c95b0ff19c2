"""JSON schemas the planner asks models for, and the parsers that turn answers into protos."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from reelforge.v1 import common_pb2

_STRING: dict[str, object] = {"type": "string"}
_STRINGS: dict[str, object] = {"type": "array", "items": {"type": "string"}}
_NUMBER: dict[str, object] = {"type": "number"}
_SCENE_TYPES = {
    "hook": common_pb2.SCENE_TYPE_HOOK,
    "product_intro": common_pb2.SCENE_TYPE_PRODUCT_INTRO,
    "feature": common_pb2.SCENE_TYPE_FEATURE,
    "call_to_action": common_pb2.SCENE_TYPE_CALL_TO_ACTION,
}
SCENE_TYPE_NAMES = {value: name for name, value in _SCENE_TYPES.items()}


def _object(properties: dict[str, object]) -> dict[str, object]:
    """A strict-mode object: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


BRIEF_SCHEMA = _object(
    {
        "product_name": _STRING,
        "product_description": _STRING,
        "target_audience": _STRING,
        "tone": _STRING,
        "visual_style_keywords": _STRINGS,
        "key_messages": _STRINGS,
        "call_to_action": _STRING,
        "duration_seconds": _NUMBER,
        "voice": _STRING,
    }
)
_MOOD_SCHEMA = _object(
    {
        "name": _STRING,
        "description": _STRING,
        "style_keywords": _STRINGS,
        "color_palette": _STRINGS,
        "aesthetic_direction": _STRING,
        "image_prompts": _STRINGS,
    }
)
MOODS_SCHEMA = _object({"moods": {"type": "array", "items": _MOOD_SCHEMA}})
_SCENE_SCHEMA = _object(
    {
        "type": {"type": "string", "enum": list(_SCENE_TYPES)},
        "duration_seconds": _NUMBER,
        "description": _STRING,
        "style_prompt": _STRING,
        "caption": _STRING,
        "camera_motion": _STRING,
        "voice_line": _STRING,
        "focus_x": _NUMBER,
        "focus_y": _NUMBER,
    }
)
PLAN_SCHEMA = _object({"scenes": {"type": "array", "items": _SCENE_SCHEMA}})

# The json_schema names (also how the test fake tells the three requests apart).
BRIEF_SCHEMA_NAME = "creative_brief"
MOODS_SCHEMA_NAME = "mood_directions"
PLAN_SCHEMA_NAME = "scene_plan"


class AnswerError(ValueError):
    """A model's answer that is not the JSON asked for; the message says why."""


class _Lenient(BaseModel):
    # Missing fields get defaults so the plan rules, not the parser, report what is absent.
    model_config = ConfigDict(extra="ignore")


class _BriefAnswer(_Lenient):
    product_name: str = ""
    product_description: str = ""
    target_audience: str = ""
    tone: str = ""
    visual_style_keywords: list[str] = []
    key_messages: list[str] = []
    call_to_action: str = ""
    duration_seconds: float = 0.0
    voice: str = ""


class _MoodAnswer(_Lenient):
    name: str = ""
    description: str = ""
    style_keywords: list[str] = []
    color_palette: list[str] = []
    aesthetic_direction: str = ""
    image_prompts: list[str] = []


class _MoodsAnswer(_Lenient):
    moods: list[_MoodAnswer]


class _SceneAnswer(_Lenient):
    type: str = ""
    duration_seconds: float = 0.0
    description: str = ""
    style_prompt: str = ""
    caption: str = ""
    camera_motion: str = ""
    voice_line: str = ""
    focus_x: float | None = None  # None: the centre (Scene.focus_x unset)
    focus_y: float | None = None


class _PlanAnswer(_Lenient):
    scenes: list[_SceneAnswer]


_M = TypeVar("_M", bound=BaseModel)
_FENCED_BLOCK = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_OPENING_FENCE = re.compile(r"^\s*```[A-Za-z]*[ \t]*\n?")
# strict=False: llama.cpp grammars let raw control characters (newlines, tabs) into strings.
_DECODER = json.JSONDecoder(strict=False)


def _json_candidates(text: str) -> list[str]:
    """The answer as it is, then the JSON inside it: a fenced block, else from the first brace on.

    Prompt-only servers and small models wrap JSON in code fences or put a sentence
    before it; an answer cut off by max_tokens leaves a fence open.
    """
    candidates = [text]
    fenced = _FENCED_BLOCK.search(text)
    if fenced:
        candidates.append(fenced.group(1))
    unfenced = _OPENING_FENCE.sub("", text, count=1)
    start = unfenced.find("{")
    if start >= 0:
        candidates.append(unfenced[start:])
    return candidates


def load_json(text: str) -> Any:
    """The answer's JSON value, read leniently; AnswerError says why there is none."""
    first_error: json.JSONDecodeError | None = None
    for candidate in _json_candidates(text):
        try:
            # raw_decode ignores text after the value ("Hope this helps!").
            return _DECODER.raw_decode(candidate.strip())[0]
        except json.JSONDecodeError as error:
            first_error = first_error or error
    assert first_error is not None  # the answer itself is always a candidate
    raise AnswerError(
        f"the answer is not valid JSON ({first_error.msg} at {first_error.pos})"
    ) from None


def _parse(text: str, model: type[_M]) -> _M:
    data = load_json(text)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
            for e in error.errors()[:3]
        )
        raise AnswerError(f"the JSON does not match the schema ({where})") from None


def parse_brief(text: str) -> common_pb2.CreativeBrief:
    answer = _parse(text, _BriefAnswer)
    return common_pb2.CreativeBrief(**answer.model_dump())


def parse_moods(text: str) -> list[common_pb2.Mood]:
    answer = _parse(text, _MoodsAnswer)
    return [common_pb2.Mood(**mood.model_dump()) for mood in answer.moods]


def parse_plan(text: str) -> list[common_pb2.Scene]:
    answer = _parse(text, _PlanAnswer)
    return [
        # The answer's other fields are the Scene's, by the same names (extras are ignored).
        common_pb2.Scene(
            index=index,
            type=_SCENE_TYPES.get(scene.type.strip().lower(), common_pb2.SCENE_TYPE_UNSPECIFIED),
            **scene.model_dump(exclude={"type"}, exclude_none=True),
        )
        for index, scene in enumerate(answer.scenes)
    ]
