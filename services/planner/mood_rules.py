"""Normalises any provider's moods to the contract: count, ids, keywords, palettes, image prompts."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reelforge.runtime.validation import MAX_TEXT_CHARS
from reelforge.v1 import common_pb2, planner_pb2
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
) -> tuple[list[common_pb2.Mood], list[planner_pb2.Repair]]:
    """Exactly ``count`` usable moods, and what had to be filled in (never silently).

    Missing moods come from the offline archetypes; missing keywords, colours and image
    prompts are filled from the brief and defaults. Each such fill-in is one Repair.
    """
    repairs: list[planner_pb2.Repair] = []
    chosen = [m for m in moods if m.name.strip()][:count]
    given = len(chosen)
    if given < count:
        names = {m.name.strip().lower() for m in chosen}
        spares = offline_moods(brief, count + given, images_per_mood)
        chosen += [m for m in spares if m.name.lower() not in names][: count - given]
        for index in range(given, count):
            repairs.append(
                _repair(
                    f"moods[{index}]",
                    f"offline archetype {chosen[index].name!r}: the model gave {given} usable "
                    f"mood(s) of {count}",
                )
            )
    used_ids: set[str] = set()
    normalized = []
    for index, mood in enumerate(chosen):
        notes = [] if index >= given else repairs
        normalized.append(_normalize(mood, brief, images_per_mood, used_ids, index, notes))
    return normalized, repairs


def _repair(field: str, action: str) -> planner_pb2.Repair:
    return planner_pb2.Repair(field=field, action=action)


def _normalize(
    mood: common_pb2.Mood,
    brief: common_pb2.CreativeBrief,
    images: int,
    used_ids: set[str],
    index: int,
    repairs: list[planner_pb2.Repair],
) -> common_pb2.Mood:
    name = mood.name.strip()[:MAX_TEXT_CHARS]
    keywords = _keywords(mood, brief)
    palette = _palette(mood.color_palette)
    prompts = [p.strip()[:MAX_TEXT_CHARS] for p in mood.image_prompts if p.strip()][:images]
    where = f"moods[{index}]"
    if len([k for k in mood.style_keywords if k.strip()]) < MIN_KEYWORDS:
        repairs.append(_repair(f"{where}.style_keywords", "filled up from the brief and defaults"))
    if palette != [_hex(c) for c in mood.color_palette]:
        repairs.append(
            _repair(
                f"{where}.color_palette",
                "colours dropped (invalid, repeated or past 6) or defaults added",
            )
        )
    if len(prompts) < images:
        repairs.append(
            _repair(
                f"{where}.image_prompts",
                f"{images - len(prompts)} of {images} written from the brief",
            )
        )
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
