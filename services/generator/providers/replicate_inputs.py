"""Maps an item's spec to each Replicate model's input (seed image, duration range, resolution,
9:16, voice and language)."""

from __future__ import annotations

import math
from typing import Any

from reelforge.v1 import common_pb2
from services.generator.catalog import REPLICATE_CLIP_MODELS, ClipModel, Kind, base_model
from services.generator.voices import MINIMAX_DEFAULT_VOICE, language_boost

# Input keys that carry images; artifact ids in them become data: URIs at submission time.
IMAGE_KEYS = ("image", "first_frame_image", "last_frame_image", "image_input")

_ASPECT: dict[int, str] = {
    common_pb2.ASPECT_RATIO_9_16: "9:16",
    common_pb2.ASPECT_RATIO_16_9: "16:9",
    common_pb2.ASPECT_RATIO_1_1: "1:1",
}
# SDXL takes pixel sizes (multiples of 8) instead of an aspect ratio.
_SDXL_SIZES: dict[str, dict[int, tuple[int, int]]] = {
    "9:16": {common_pb2.TIER_DRAFT: (576, 1024), common_pb2.TIER_PRODUCTION: (768, 1344)},
    "16:9": {common_pb2.TIER_DRAFT: (1024, 576), common_pb2.TIER_PRODUCTION: (1344, 768)},
    "1:1": {common_pb2.TIER_DRAFT: (768, 768), common_pb2.TIER_PRODUCTION: (1024, 1024)},
}


def same_input(sent: dict[str, Any], echoed: dict[str, Any]) -> bool:
    """Whether a prediction's echoed input is the one we sent.

    Image inputs are compared loosely: Replicate may echo a data: URI as a file URL.
    """
    keys = (set(sent) | set(echoed)) - set(IMAGE_KEYS)
    return all(sent.get(key) == echoed.get(key) for key in keys)


def aspect_ratio(value: int) -> str:
    return _ASPECT.get(value, "9:16")


def clamp_duration(seconds: float, model: ClipModel) -> int:
    """Whole seconds inside the model's range (or the nearest value it accepts)."""
    if model.allowed_durations:
        return min(model.allowed_durations, key=lambda allowed: abs(allowed - seconds))
    return max(model.min_duration_s, min(model.max_duration_s, math.ceil(seconds - 1e-9)))


def _with_seed(values: dict[str, Any], seed: int) -> dict[str, Any]:
    if seed:
        values["seed"] = seed
    return values


def image_input(model: str, spec: dict[str, Any], tier: int, aspect: str) -> dict[str, Any]:
    name = base_model(model)
    prompt = str(spec["prompt"])
    seed = int(spec.get("seed", 0))
    if name == "google/nano-banana":
        values: dict[str, Any] = {"prompt": prompt, "aspect_ratio": aspect, "output_format": "png"}
        # The product's photos are references too: the model keeps the product as it is.
        references = [*spec.get("reference_images", ()), *spec.get("product_images", ())]
        if references:
            values["image_input"] = references
        return values
    if name == "stability-ai/sdxl":
        width, height = _SDXL_SIZES[aspect][tier]
        return _with_seed({"prompt": prompt, "width": width, "height": height}, seed)
    return _with_seed(
        {"prompt": prompt, "aspect_ratio": aspect, "num_outputs": 1, "output_format": "png"}, seed
    )


def clip_input(model: str, spec: dict[str, Any], tier: int, aspect: str) -> dict[str, Any]:
    name = base_model(model)
    limits = REPLICATE_CLIP_MODELS[name]
    prompt = str(spec["prompt"])
    if spec.get("camera_motion"):
        prompt = f"{prompt}. Camera: {spec['camera_motion']}"
    resolution = (
        limits.production_resolution
        if tier == common_pb2.TIER_PRODUCTION
        else limits.draft_resolution
    )
    duration = clamp_duration(float(spec["duration_seconds"]), limits)
    image = str(spec.get("image", ""))
    if name == "minimax/hailuo-02":
        values: dict[str, Any] = {
            "prompt": prompt,
            "duration": duration,
            "resolution": resolution.upper(),
            "prompt_optimizer": False,
        }
        if image:
            values["first_frame_image"] = image
        return values
    values = {"prompt": prompt, "duration": duration, "resolution": resolution, "fps": 24}
    values["aspect_ratio"] = aspect  # ignored by the model when an image is given
    values["camera_fixed"] = False
    if image:
        values["image"] = image
    return _with_seed(values, int(spec.get("seed", 0)))


def music_input(model: str, spec: dict[str, Any], tier: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "prompt": str(spec["prompt"]),
        "duration": max(1, math.ceil(float(spec["duration_seconds"]) - 1e-9)),
        "model_version": "stereo-large"
        if tier == common_pb2.TIER_PRODUCTION
        else "stereo-melody-large",
        "output_format": "mp3",
        "normalization_strategy": "loudness",
    }
    return _with_seed(values, int(spec.get("seed", 0)))


def speech_input(spec: dict[str, Any]) -> dict[str, Any]:
    """MiniMax speech: sentence timestamps asked for (``subtitle_enable``), MP3 out (its default)."""
    return {
        "text": str(spec["text"]),
        "voice_id": str(spec.get("voice") or MINIMAX_DEFAULT_VOICE),
        "speed": float(spec.get("speed") or 1.0),
        "language_boost": language_boost(str(spec.get("language", ""))),
        "subtitle_enable": True,
    }


def model_input(
    kind: Kind, model: str, spec: dict[str, Any], tier: int, aspect: int
) -> dict[str, Any]:
    """The Replicate input for one spec."""
    if kind is Kind.IMAGES:
        return image_input(model, spec, tier, aspect_ratio(aspect))
    if kind is Kind.CLIPS:
        return clip_input(model, spec, tier, aspect_ratio(aspect))
    if kind is Kind.VOICE:
        return speech_input(spec)
    return music_input(model, spec, tier)
