"""Known models per kind, the defaults of each tier, and the provider a request runs on."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from reelforge.v1 import common_pb2, generator_pb2
from services.generator.settings import GeneratorSettings


class Kind(enum.StrEnum):
    """What an item makes; the value is its EstimateCostRequest field (and the stored kind)."""

    IMAGES = "images"
    CLIPS = "clips"
    MUSIC = "music"
    VOICE = "voice"

    @property
    def job_kind(self) -> generator_pb2.JobKind.ValueType:
        return _JOB_KINDS[self]

    @property
    def specs_field(self) -> str:
        """The request's repeated field of specs, for error paths ("" for music: one spec)."""
        return {Kind.MUSIC: "", Kind.VOICE: "lines"}.get(self, self.value)

    @classmethod
    def from_job_kind(cls, value: int) -> Kind:
        return next(kind for kind, job_kind in _JOB_KINDS.items() if job_kind == value)


_JOB_KINDS = {
    Kind.IMAGES: generator_pb2.JOB_KIND_IMAGES,
    Kind.CLIPS: generator_pb2.JOB_KIND_CLIPS,
    Kind.MUSIC: generator_pb2.JOB_KIND_MUSIC,
    Kind.VOICE: generator_pb2.JOB_KIND_VOICE,
}

REPLICATE = "replicate"
ANIMATIC = "animatic"
PROVIDERS = (REPLICATE, ANIMATIC)

# Offline "models": one per kind, so jobs and the cache name what made an output.
ANIMATIC_MODELS = {
    Kind.IMAGES: "animatic/still",
    Kind.CLIPS: "animatic/ken-burns",
    Kind.MUSIC: "animatic/synth",
    Kind.VOICE: "animatic/espeak",
}


@dataclass(frozen=True)
class ClipModel:
    """What a video model accepts: its duration range (whole seconds) and resolution names."""

    min_duration_s: int
    max_duration_s: int
    draft_resolution: str
    production_resolution: str
    allowed_durations: tuple[int, ...] = ()  # when the model takes only a few values


REPLICATE_IMAGE_MODELS = (
    "black-forest-labs/flux-schnell",
    "google/nano-banana",
    "stability-ai/sdxl",
)
REPLICATE_CLIP_MODELS: dict[str, ClipModel] = {
    "bytedance/seedance-1-lite": ClipModel(2, 12, "480p", "1080p"),
    "bytedance/seedance-1-pro-fast": ClipModel(2, 12, "480p", "1080p"),
    "bytedance/seedance-1-pro": ClipModel(2, 12, "480p", "1080p"),
    "minimax/hailuo-02": ClipModel(6, 10, "512p", "1080p", allowed_durations=(6, 10)),
}
REPLICATE_MUSIC_MODELS = ("meta/musicgen",)
# MiniMax text-to-speech: same input schema, billed per input character.
REPLICATE_VOICE_MODELS = ("minimax/speech-2.6-turbo", "minimax/speech-2.6-hd")

# Models Replicate runs by name ("official" models: POST /v1/models/{owner}/{name}/predictions).
# Replicate refuses that for every other model: those are created by a version id, either
# pinned in the reference ("owner/name:<id>", from a request or a REPLICATE_*MODEL setting)
# or the model's latest version, looked up once per process.
OFFICIAL_MODELS = frozenset(
    {
        "black-forest-labs/flux-schnell",
        "google/nano-banana",
        "bytedance/seedance-1-lite",
        "bytedance/seedance-1-pro-fast",
        "bytedance/seedance-1-pro",
        "minimax/hailuo-02",
        *REPLICATE_VOICE_MODELS,
    }
)

_TIER_DEFAULTS: dict[tuple[Kind, int], str] = {
    (Kind.IMAGES, common_pb2.TIER_DRAFT): "black-forest-labs/flux-schnell",
    (Kind.IMAGES, common_pb2.TIER_PRODUCTION): "google/nano-banana",
    (Kind.CLIPS, common_pb2.TIER_DRAFT): "bytedance/seedance-1-lite",
    (Kind.CLIPS, common_pb2.TIER_PRODUCTION): "bytedance/seedance-1-pro-fast",
    (Kind.MUSIC, common_pb2.TIER_DRAFT): "meta/musicgen",
    (Kind.MUSIC, common_pb2.TIER_PRODUCTION): "meta/musicgen",
    (Kind.VOICE, common_pb2.TIER_DRAFT): "minimax/speech-2.6-turbo",
    (Kind.VOICE, common_pb2.TIER_PRODUCTION): "minimax/speech-2.6-hd",
}


def base_model(ref: str) -> str:
    """ "owner/name" of a model reference, without a pinned ":version"."""
    return ref.split(":", 1)[0]


def needs_version(ref: str) -> bool:
    """Whether a create must name a version: not pinned, and not an official model."""
    return ":" not in ref and base_model(ref) not in OFFICIAL_MODELS


def known_models(kind: Kind) -> tuple[str, ...]:
    """Every model reference (without version) a request of this kind may name."""
    replicate: tuple[str, ...] = {
        Kind.IMAGES: REPLICATE_IMAGE_MODELS,
        Kind.CLIPS: tuple(REPLICATE_CLIP_MODELS),
        Kind.MUSIC: REPLICATE_MUSIC_MODELS,
        Kind.VOICE: REPLICATE_VOICE_MODELS,
    }[kind]
    return (*replicate, ANIMATIC_MODELS[kind])


def resolve_tier(tier: int, settings: GeneratorSettings) -> common_pb2.Tier.ValueType:
    """Unspecified → the environment's tier (development → draft, production → production)."""
    if tier in (common_pb2.TIER_DRAFT, common_pb2.TIER_PRODUCTION):
        return common_pb2.Tier.ValueType(tier)
    return (
        common_pb2.TIER_PRODUCTION
        if settings.environment == "production"
        else common_pb2.TIER_DRAFT
    )


def resolve_provider(requested: str, settings: GeneratorSettings) -> str:
    """The request's provider, else VIDEO_PROVIDER; auto → replicate only when a token is set."""
    if requested:
        return requested
    if settings.video_provider == "auto":
        return REPLICATE if settings.replicate_api_token else ANIMATIC
    return settings.video_provider


def resolve_model(
    kind: Kind, provider: str, requested: str, tier: int, settings: GeneratorSettings
) -> str:
    """The request's model, else the REPLICATE_*MODEL override, else the tier's default."""
    if provider == ANIMATIC:
        return ANIMATIC_MODELS[kind]
    if requested:
        return requested
    override = {
        Kind.IMAGES: settings.replicate_image_model,
        Kind.CLIPS: settings.replicate_model,
        Kind.MUSIC: settings.replicate_music_model,
        Kind.VOICE: settings.replicate_voice_model,
    }[kind]
    return override or _TIER_DEFAULTS[(kind, tier)]
