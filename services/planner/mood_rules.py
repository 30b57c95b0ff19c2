"""Normalises any provider's moods to the contract: count, ids, keywords, palettes, image prompts."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2
from services.planner.providers.offline import offline_moods

MIN_KEYWORDS, MAX_KEYWORDS = 3, 8
MIN_COLOURS, MAX_COLOURS = 3, 6
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_FALLBACK_KEYWORDS = ("cinematic", "clean", "vibrant")
_FALLBACK_PALETTE = ("#111111", "#F5F5F5", "#C8A165")


def normalize_moods(
    moods: Sequence[common_pb2.Mood],
    brief: common_pb2.CreativeBrief,
    count: int,
    images_per_mood: int,
) -> list[common_pb2.Mood]:
    """Exactly ``count`` usable moods; missing ones come from the offline archetypes."""
    chosen = [m for m in moods if m.name.strip()][:count]
    if len(chosen) < count:
        names = {m.name.strip().lower() for m in chosen}
        spares = offline_moods(brief, count + len(chosen), images_per_mood)
        chosen += [m for m in spares if m.name.lower() not in names][: count - len(chosen)]
    used_ids: set[str] = set()
    return [_normalize(mood, brief, images_per_mood, used_ids) for mood in chosen]


def _normalize(
    mood: common_pb2.Mood, brief: common_pb2.CreativeBrief, images: int, used_ids: set[str]
) -> common_pb2.Mood:
    name = mood.name.strip()[:MAX_TEXT_CHARS]
    keywords = _keywords(mood, brief)
    palette = _palette(mood.color_palette)
    prompts = [p.strip()[:MAX_TEXT_CHARS] for p in mood.image_prompts if p.strip()][:images]
    while len(prompts) < images:
        prompts.append(
            f"{brief.product_name.strip()[:200] or 'the product'}, {name}, "
            f"{', '.join(keywords[:4])}, vertical 9:16, no text in the image"
        )
    return common_pb2.Mood(
        id=_unique_id(name, used_ids),
        name=name,
        description=mood.description.strip()[:MAX_TEXT_CHARS],
        style_keywords=keywords,
        color_palette=palette,
        aesthetic_direction=mood.aesthetic_direction.strip()[:MAX_TEXT_CHARS],
        image_prompts=prompts,
    )


def _keywords(mood: common_pb2.Mood, brief: common_pb2.CreativeBrief) -> list[str]:
    candidates = [*mood.style_keywords, *brief.visual_style_keywords, *_FALLBACK_KEYWORDS]
    unique = list(dict.fromkeys(k.strip()[:MAX_TEXT_CHARS] for k in candidates if k.strip()))
    given = len([k for k in mood.style_keywords if k.strip()])
    return unique[: max(MIN_KEYWORDS, min(given, MAX_KEYWORDS))]


def _palette(colours: Sequence[str]) -> list[str]:
    valid = [_hex(c) for c in colours]
    unique = list(dict.fromkeys(c for c in valid if c))[:MAX_COLOURS]
    for fallback in _FALLBACK_PALETTE:
        if len(unique) >= MIN_COLOURS:
            break
        if fallback not in unique:
            unique.append(fallback)
    return unique


def _hex(colour: str) -> str:
    """'#RRGGBB' in upper case, or '' when the text is not a hex colour."""
    match = _HEX.match(colour.strip())
    if not match:
        return ""
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits.upper()


def _unique_id(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "mood"
    candidate, suffix = base, 2
    while candidate in used:
        candidate, suffix = f"{base}-{suffix}", suffix + 1
    used.add(candidate)
    return candidate
