"""Request rules of the generator: counts, prompts, durations, images, voice lines, models and
providers.

Every violation names its field path (e.g. ``clips[2].duration_seconds``) so a caller fixes
all of them at once. Known models and providers are passed in by the service, which owns them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from reelforge.runtime import page_tokens
from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.net_guard import BlockedURL, IPNetwork, check_url_literal
from reelforge.runtime.validation import MAX_URL_CHARS, Violations
from reelforge.v1 import common_pb2, generator_pb2
from services.generator.voices import KNOWN_LANGUAGES, LANGUAGE_TAG, offline_voice, primary_language

MAX_ITEMS = 32
MAX_REFERENCE_IMAGES = 4
MAX_PALETTE = 8
MAX_CAPTION_CHARS = 200
MAX_CLIP_SECONDS = 60.0
MAX_MUSIC_SECONDS = 180.0
MAX_LINE_CHARS = 10_000  # MiniMax speech's limit per request
MAX_VOICE_ID_CHARS = 200
MIN_SPEED, MAX_SPEED = 0.5, 2.0
_MODEL_REF = re.compile(r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*(:[0-9a-f]{64})?$")
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_Spec = TypeVar("_Spec", generator_pb2.ImageSpec, generator_pb2.ClipSpec, generator_pb2.VoiceLine)


@dataclass(frozen=True)
class Catalog:
    """What the service can run: provider names and the model references known for a kind."""

    providers: Collection[str]
    models: Collection[str]  # "owner/name" (a pinned ":version" of one is accepted too)
    allow_networks: Sequence[IPNetwork] = ()
    # espeak-ng's voices when the request runs offline (a voice must be one); None otherwise.
    offline_voices: Mapping[str, str] | None = None


def _image_ref(v: Violations, value: str, field: str, catalog: Catalog) -> None:
    """An artifact id, or an http(s) URL that does not reach a private address (unless allowed)."""
    if is_artifact_id(value):
        return
    if not value.startswith(("http://", "https://")):
        v.add(field, "must be an artifact id (64 hex characters) or an http(s) URL")
        return
    if len(value) > MAX_URL_CHARS:
        v.add(field, f"must be at most {MAX_URL_CHARS} characters (got {len(value)})")
        return
    try:
        check_url_literal(value, catalog.allow_networks)
    except BlockedURL as error:
        v.add(field, f"URL refused: {error}")


def _common(
    v: Violations, provider: str, model: str, max_cost: int, catalog: Catalog, prefix: str
) -> None:
    if provider and provider not in catalog.providers:
        v.add(
            f"{prefix}provider",
            f"unknown provider {provider!r}; known: {', '.join(sorted(catalog.providers))}",
        )
    if model:
        base = model.split(":", 1)[0]
        if not _MODEL_REF.match(model):
            v.add(f"{prefix}model", "must be 'owner/name' or 'owner/name:<64-hex version>'")
        elif base not in catalog.models:
            v.add(
                f"{prefix}model",
                f"unknown model {base!r}; known: {', '.join(sorted(catalog.models))}",
            )
    v.check(max_cost >= 0, f"{prefix}max_cost_micros", "must not be negative")


def _enums(v: Violations, tier: int, aspect: int | None, prefix: str) -> None:
    v.check(tier in common_pb2.Tier.values(), f"{prefix}tier", f"unknown tier {tier}")
    if aspect is not None:
        v.check(
            aspect in common_pb2.AspectRatio.values(),
            f"{prefix}aspect_ratio",
            f"unknown aspect ratio {aspect}",
        )


def _count(v: Violations, count: int, field: str) -> None:
    v.check(1 <= count <= MAX_ITEMS, field, f"must hold 1 to {MAX_ITEMS} entries (got {count})")


def _duration(v: Violations, value: float, field: str, high: float) -> None:
    if not math.isfinite(value) or not 0 < value <= high:
        v.add(field, f"must be > 0 and ≤ {high:g} seconds (got {value:g})")


def _each(
    v: Violations,
    specs: Sequence[_Spec],
    field: str,
    check: Callable[[Violations, _Spec, str, Catalog], None],
    catalog: Catalog,
) -> None:
    """1 to MAX_ITEMS specs, each checked under its own path (``clips[2]``)."""
    _count(v, len(specs), field)
    for i, spec in enumerate(specs[:MAX_ITEMS]):
        check(v, spec, f"{field}[{i}]", catalog)


def _references(v: Violations, refs: Sequence[str], field: str, catalog: Catalog) -> None:
    v.check(len(refs) <= MAX_REFERENCE_IMAGES, field, f"at most {MAX_REFERENCE_IMAGES}")
    for j, ref in enumerate(refs[:MAX_REFERENCE_IMAGES]):
        _image_ref(v, ref, f"{field}[{j}]", catalog)


def _image(v: Violations, spec: generator_pb2.ImageSpec, at: str, catalog: Catalog) -> None:
    v.text(spec.prompt, f"{at}.prompt", required=True)
    v.text(spec.caption, f"{at}.caption", required=False, max_chars=MAX_CAPTION_CHARS)
    _references(v, spec.reference_images, f"{at}.reference_images", catalog)
    v.check(
        len(spec.color_palette) <= MAX_PALETTE,
        f"{at}.color_palette",
        f"at most {MAX_PALETTE} colours",
    )
    for j, colour in enumerate(spec.color_palette[:MAX_PALETTE]):
        v.check(bool(_HEX_COLOUR.match(colour)), f"{at}.color_palette[{j}]", "must be '#RRGGBB'")
    v.check(
        len(spec.product_images) <= MAX_REFERENCE_IMAGES,
        f"{at}.product_images",
        f"at most {MAX_REFERENCE_IMAGES}",
    )
    for field, ref in brand_images(spec, at):
        v.check(is_artifact_id(ref), field, "must be an artifact id (64 lower-case hex characters)")


def brand_images(spec: generator_pb2.ImageSpec, at: str) -> list[tuple[str, str]]:
    """The spec's product photos and logo under their field paths: artifact ids only, as the
    offline animatic reads them from the store (PNG, JPEG, WebP or SVG, rasterised to PNG)."""
    refs = [(f"{at}.product_images[{j}]", ref) for j, ref in enumerate(spec.product_images)]
    return refs + ([(f"{at}.logo", spec.logo)] if spec.logo else [])


def _clip(v: Violations, spec: generator_pb2.ClipSpec, at: str, catalog: Catalog) -> None:
    v.text(spec.prompt, f"{at}.prompt", required=True)
    v.text(spec.camera_motion, f"{at}.camera_motion", required=False, max_chars=MAX_CAPTION_CHARS)
    _duration(v, spec.duration_seconds, f"{at}.duration_seconds", MAX_CLIP_SECONDS)
    for field, value in (("image", spec.image), ("last_frame_image", spec.last_frame_image)):
        if value:
            _image_ref(v, value, f"{at}.{field}", catalog)
    _references(v, spec.reference_images, f"{at}.reference_images", catalog)


def _music(v: Violations, request: generator_pb2.GenerateMusicRequest, prefix: str) -> None:
    v.text(request.prompt, f"{prefix}prompt", required=True)
    _duration(v, request.duration_seconds, f"{prefix}duration_seconds", MAX_MUSIC_SECONDS)


def _line(v: Violations, line: generator_pb2.VoiceLine, at: str, catalog: Catalog) -> None:
    v.text(line.text, f"{at}.text", required=True, max_chars=MAX_LINE_CHARS)
    if line.text.strip() and not any(ch.isalnum() for ch in line.text):
        v.add(f"{at}.text", "must contain a word to speak")


def _voice(
    v: Violations, request: generator_pb2.GenerateVoiceRequest, prefix: str, catalog: Catalog
) -> None:
    _each(v, request.lines, f"{prefix}lines", _line, catalog)
    speed = request.speed
    if speed and not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        v.add(
            f"{prefix}speed", f"must be {MIN_SPEED:g} to {MAX_SPEED:g}, or 0 for 1 (got {speed:g})"
        )
    language = request.language
    known_language = not language or (
        bool(LANGUAGE_TAG.match(language)) and primary_language(language) in KNOWN_LANGUAGES
    )
    v.check(known_language, f"{prefix}language",
            f"unknown language {language!r}: use a code such as en, en-US, fr, pt-BR")  # fmt: skip
    v.text(request.voice, f"{prefix}voice", required=False, max_chars=MAX_VOICE_ID_CHARS)
    voices = catalog.offline_voices
    if voices is not None and known_language and not offline_voice(request.voice, language, voices):
        field, value = ("voice", request.voice) if request.voice else ("language", language)
        v.add(f"{prefix}{field}", f"espeak-ng has no voice for {value!r} (offline voices are "
              "espeak-ng's, e.g. en-us, en-gb, fr, de; `espeak-ng --voices` lists them)")  # fmt: skip


GenerateRequest = (
    generator_pb2.GenerateImagesRequest
    | generator_pb2.GenerateClipsRequest
    | generator_pb2.GenerateMusicRequest
    | generator_pb2.GenerateVoiceRequest
)


def check_generate(request: GenerateRequest, catalog: Catalog, prefix: str = "") -> Violations:
    """The rules of the job kind ``request`` asks for, then those every kind shares."""
    v = Violations()
    aspect: int | None = None  # music and voice have no picture
    if isinstance(request, generator_pb2.GenerateImagesRequest):
        _each(v, request.images, f"{prefix}images", _image, catalog)
        aspect = request.aspect_ratio
    elif isinstance(request, generator_pb2.GenerateClipsRequest):
        _each(v, request.clips, f"{prefix}clips", _clip, catalog)
        aspect = request.aspect_ratio
    elif isinstance(request, generator_pb2.GenerateVoiceRequest):
        _voice(v, request, prefix, catalog)
    else:
        _music(v, request, prefix)
    _enums(v, request.tier, aspect, prefix)
    _common(v, request.provider, request.model, request.max_cost_micros, catalog, prefix)
    return v


LIST_PAGE_TOKEN_HINT = "not a token from a previous ListJobs answer"


def check_list_jobs(request: generator_pb2.ListJobsRequest) -> Violations:
    """Page size 0–100 (0: the default), known kind and state filters, a well-formed page token."""
    v = Violations()
    v.range(request.page_size, "page_size", 0, 100)
    v.check(request.kind in generator_pb2.JobKind.values(), "kind", f"unknown value {request.kind}")
    v.check(
        request.state in generator_pb2.JobState.values(), "state", f"unknown value {request.state}"
    )
    if request.page_token:
        v.check(
            page_tokens.parse(request.page_token) is not None, "page_token", LIST_PAGE_TOKEN_HINT
        )
    return v


def check_job_id(job_id: str) -> None:
    """A job id: required, short, printable (INVALID_ARGUMENT naming ``job_id`` otherwise)."""
    v = Violations()
    v.identifier(job_id, "job_id")
    v.raise_if_any()
