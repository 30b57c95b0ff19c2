"""The offline planner: rule-based, no network, the same output for the same input."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from reelforge.v1 import common_pb2
from services.planner import scene_text
from services.planner.brief_rules import extract_offline, missing_fields
from services.planner.budget import Budget
from services.planner.plan_rules import (
    CALL_TO_ACTION,
    FEATURE,
    HOOK,
    PRODUCT_INTRO,
    fit_durations,
    role_range,
    scene_bounds,
    scene_count_range,
)
from services.planner.prompts import BRIEF_COMPLETE
from services.planner.providers.base import ChatTurn, Correction, PlanAnswer, PlanRequest
from services.planner.script_rules import voice_enabled, word_budget

_WORDS_PER_CHUNK = 3
_IMAGE_VARIATIONS = ("close-up", "wide angle", "dramatic lighting", "minimalist")
_FILLER_FEATURES = (
    "how it fits into everyday life",
    "the details that set it apart",
    "the result you get",
    "people enjoying it",
)


@dataclass(frozen=True)
class _Archetype:
    """A ready-made visual direction; ``triggers`` are brief words that make it a good fit."""

    name: str
    triggers: frozenset[str]
    keywords: tuple[str, ...]
    palette: tuple[str, ...]
    look: str
    lighting: str
    camera: str


def _archetype(
    name: str, triggers: str, keywords: str, palette: str, look: str, lighting: str, camera: str
) -> _Archetype:
    return _Archetype(
        name,
        frozenset(triggers.split()),
        tuple(keywords.split(", ")),
        tuple(palette.split()),
        look,
        lighting,
        camera,
    )


_ARCHETYPES = (
    _archetype(
        "Neon Pulse",
        "energetic bold exciting fun playful young urban night modern tech neon vibrant edgy",
        "neon, high contrast, urban night, glowing accents",
        "#0B0F2A #FF2E88 #00E5FF #F9F871 #7B2FF7",
        "electric and fast, city-at-night energy",
        "neon rim light and deep shadows",
        "quick cuts, low angles, whip pans",
    ),
    _archetype(
        "Golden Hour",
        "warm friendly authentic natural family cozy nostalgic happy heartfelt outdoor",
        "sun-drenched, warm tones, lens flare, candid",
        "#F4A259 #F9DC5C #BC4B51 #5B8E7D #FFF3E0",
        "warm and human, late-afternoon glow",
        "low golden sunlight with soft flares",
        "handheld, eye level, gentle drift",
    ),
    _archetype(
        "Clean Studio",
        "minimal minimalist clean simple modern professional sleek tech premium calm",
        "minimalist, white space, soft shadows, product focus",
        "#FFFFFF #E8ECEF #1E1E24 #3A86FF #B8C0CC",
        "calm precision with the product as the hero",
        "soft diffused studio light on a seamless backdrop",
        "locked-off frames and slow dolly moves",
    ),
    _archetype(
        "Luxe Noir",
        "luxury luxurious elegant premium sophisticated exclusive dramatic mysterious bold",
        "dark elegance, gold accents, glossy textures, dramatic",
        "#0A0A0A #1C1C1C #C9A227 #E6D5B8 #5A0F1C",
        "dark, rich and exclusive",
        "hard key light with deep blacks and specular highlights",
        "slow reveals, macro details, smooth sliders",
    ),
    _archetype(
        "Pop Burst",
        "playful fun colorful colourful quirky bold youthful cheerful happy energetic vibrant",
        "bold colour blocking, graphic shapes, playful, saturated",
        "#FF595E #FFCA3A #8AC926 #1982C4 #6A4C93",
        "bright, graphic and cheeky",
        "flat bright light with crisp shadows",
        "snap zooms, top-down shots, stop-motion beats",
    ),
    _archetype(
        "Organic Calm",
        "calm natural organic eco sustainable healthy wellness serene gentle relaxing soft",
        "natural materials, soft greens, airy, organic textures",
        "#A3B18A #588157 #DAD7CD #3A5A40 #F2E8CF",
        "serene and grounded, close to nature",
        "soft window light and morning haze",
        "slow pans, shallow depth of field",
    ),
    _archetype(
        "Retro Film",
        "vintage retro nostalgic classic analog quirky fun authentic",
        "film grain, retro, analog textures, faded colour",
        "#E07A5F #3D405B #81B29A #F2CC8F #F4F1DE",
        "nostalgic, like a well-loved film reel",
        "warm tungsten light with halation",
        "zooms and static tripod framing",
    ),
    _archetype(
        "Kinetic Sport",
        "energetic active sport sporty athletic powerful dynamic bold fast outdoor",
        "motion blur, dynamic angles, sweat and grit, high energy",
        "#111827 #EF4444 #F97316 #F3F4F6 #22D3EE",
        "powerful and kinetic",
        "hard sunlight or stadium lights with strong contrast",
        "tracking shots, speed ramps, low angles",
    ),
)


class OfflineProvider:
    """Deterministic planning without a model; see services/planner/README.md for its rules."""

    name = "offline"

    # The budget is ignored: offline answers take microseconds.
    async def converse(self, turns: Sequence[ChatTurn], budget: Budget) -> AsyncIterator[str]:
        for chunk in _chunks(_next_reply(turns)):
            yield chunk

    async def extract_brief(
        self, turns: Sequence[ChatTurn], budget: Budget
    ) -> common_pb2.CreativeBrief:
        return extract_offline(turns)

    async def generate_moods(
        self, brief: common_pb2.CreativeBrief, count: int, images_per_mood: int, budget: Budget
    ) -> list[common_pb2.Mood]:
        return offline_moods(brief, count, images_per_mood)

    async def plan_scenes(
        self, request: PlanRequest, corrections: Sequence[Correction], budget: Budget
    ) -> PlanAnswer:
        # Corrections are ignored: the plan is built to satisfy the rules in the first place.
        return PlanAnswer(raw="", scenes=offline_plan(request))

    async def aclose(self) -> None:
        return None


def _next_reply(turns: Sequence[ChatTurn]) -> str:
    """The question for the first missing required field, or a closing summary."""
    missing = missing_fields(extract_offline(turns))
    if missing:
        return missing[0].question
    return BRIEF_COMPLETE


def _chunks(text: str) -> list[str]:
    words = re.findall(r"\S+\s*", text)
    return [
        "".join(words[i : i + _WORDS_PER_CHUNK]) for i in range(0, len(words), _WORDS_PER_CHUNK)
    ]


def offline_moods(
    brief: common_pb2.CreativeBrief, count: int, images_per_mood: int
) -> list[common_pb2.Mood]:
    """``count`` distinct archetypes, best fit to the brief's tone and style words first."""
    words = set(re.findall(r"[a-z]+", " ".join([brief.tone, *brief.visual_style_keywords]).lower()))
    seed = _brief_digest(brief)
    ranked = sorted(
        _ARCHETYPES,
        key=lambda a: (-len(a.triggers & words), hashlib.sha256((seed + a.name).encode()).digest()),
    )
    return [_mood(a, brief, images_per_mood) for a in ranked[:count]]


def _mood(archetype: _Archetype, brief: common_pb2.CreativeBrief, images: int) -> common_pb2.Mood:
    name = scene_text.product(brief)
    brief_keywords = [k.strip().lower() for k in brief.visual_style_keywords if k.strip()]
    keywords = list(dict.fromkeys([*archetype.keywords, *(k[:40] for k in brief_keywords[:2])]))
    tone = brief.tone.strip() or "confident"
    description = (
        f"{archetype.look.capitalize()} for {name}, in the brief's tone ({tone[:200]}), "
        f"built on {', '.join(archetype.keywords[:2])}."
    )
    direction = f"Lighting: {archetype.lighting}. Composition: vertical 9:16, {archetype.keywords[0]}. Camera: {archetype.camera}."
    base = f"{name}, {archetype.look}, {', '.join(keywords[:4])}, colour palette {' '.join(archetype.palette[:3])}"
    prompts = [
        f"{base}, {_IMAGE_VARIATIONS[i % len(_IMAGE_VARIATIONS)]}, vertical 9:16, no text in the image"
        for i in range(images)
    ]
    return common_pb2.Mood(
        id=archetype.name.lower().replace(" ", "-"),
        name=archetype.name,
        description=description,
        style_keywords=keywords[:8],
        color_palette=list(archetype.palette),
        aesthetic_direction=direction,
        image_prompts=prompts,
    )


def offline_plan(request: PlanRequest) -> list[common_pb2.Scene]:
    """Hook, product intro, one feature per key message (2–3, more if needed to fit), call to action."""
    total = request.total_s
    brief = request.brief
    voice = voice_enabled(brief)
    messages = [m.strip() for m in brief.key_messages if m.strip()][:3]
    fixed = {t: sum(role_range(t, total)) / 2 for t in (HOOK, PRODUCT_INTRO, CALL_TO_ACTION)}
    feature_count = _feature_count(len(messages), total - sum(fixed.values()), total)
    types = [HOOK, PRODUCT_INTRO, *[FEATURE] * feature_count, CALL_TO_ACTION]
    feature_share = (total - sum(fixed.values())) / feature_count
    weights = [fixed.get(t, feature_share) for t in types]
    scenes = []
    for index, (scene_type, duration) in enumerate(
        zip(types, fit_durations(weights, total), strict=True)
    ):
        feature_number = index - 2
        message = _feature_message(messages, feature_number) if scene_type == FEATURE else ""
        description = scene_text.description(scene_type, brief, message)
        words = word_budget(duration) if voice else 0  # no words: no line
        scenes.append(
            common_pb2.Scene(
                index=index,
                type=scene_type,
                duration_seconds=duration,
                description=description,
                style_prompt=scene_text.style_prompt(description, brief, request.mood),
                caption=scene_text.caption(scene_type, brief, message),
                camera_motion=scene_text.camera_motion(scene_type, feature_number),
                voice_line=scene_text.voice_line(scene_type, brief, words, message),
            )
        )
    return scenes


def _feature_count(messages: int, feature_time_s: float, total_s: float) -> int:
    """One per key message, at least 2; more when the features would run over the longest scene."""
    bounds = scene_bounds(total_s)
    _, most_scenes = scene_count_range(total_s)
    wanted = max(2, messages, math.ceil(feature_time_s / bounds.high))
    return max(2, min(wanted, most_scenes - 3))


def _feature_message(messages: list[str], feature_number: int) -> str:
    if feature_number < len(messages):
        return messages[feature_number]
    return _FILLER_FEATURES[(feature_number - len(messages)) % len(_FILLER_FEATURES)]


def _brief_digest(brief: common_pb2.CreativeBrief) -> str:
    # Deterministic serialisation keeps the tie-break stable across processes.
    return hashlib.sha256(brief.SerializeToString(deterministic=True)).hexdigest()
