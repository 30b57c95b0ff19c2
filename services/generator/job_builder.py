"""Turns a validated Generate* request into a job record: provider, model, per-item input and estimate."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from reelforge.runtime.errors import FailedPrecondition, InvalidArgument
from reelforge.runtime.validation import Violations
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator import pricing
from services.generator.catalog import (
    ANIMATIC,
    ANIMATIC_MODELS,
    REPLICATE,
    Kind,
    ModelCatalog,
    ModelEntry,
    load_catalog,
    resolve_model,
    resolve_provider,
    resolve_tier,
)
from services.generator.providers.animatic import animatic_input
from services.generator.providers.replicate_inputs import model_input, planned_seconds
from services.generator.records import ItemRecord, JobRecord
from services.generator.settings import GeneratorSettings

GenerateRequest = (
    pb.GenerateImagesRequest
    | pb.GenerateClipsRequest
    | pb.GenerateMusicRequest
    | pb.GenerateVoiceRequest
)


@dataclass(frozen=True)
class JobRequest:
    """What every Generate* request boils down to."""

    kind: Kind
    specs: list[dict[str, Any]]
    tier: int
    aspect_ratio: int
    provider: str
    model: str
    max_cost_micros: int


def _spec_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def job_request(kind: Kind, request: GenerateRequest) -> JobRequest:
    if isinstance(request, pb.GenerateImagesRequest):
        specs = [_spec_dict(spec) for spec in request.images]
        aspect = request.aspect_ratio
    elif isinstance(request, pb.GenerateClipsRequest):
        specs = [_spec_dict(spec) for spec in request.clips]
        aspect = request.aspect_ratio
    elif isinstance(request, pb.GenerateVoiceRequest):
        # Voice, speed and language are the job's; every line's item carries them.
        shared = {"voice": request.voice, "speed": request.speed, "language": request.language}
        specs = [{"text": line.text, **shared} for line in request.lines]
        aspect = common_pb2.ASPECT_RATIO_9_16  # no picture
    else:
        specs = [
            {
                "prompt": request.prompt,
                "duration_seconds": request.duration_seconds,
                "seed": request.seed,
            }
        ]
        aspect = common_pb2.ASPECT_RATIO_9_16
    return JobRequest(
        kind=kind,
        specs=specs,
        tier=request.tier,
        aspect_ratio=aspect or common_pb2.ASPECT_RATIO_9_16,
        provider=request.provider,
        model=request.model,
        max_cost_micros=request.max_cost_micros,
    )


def cache_key(provider: str, model: str, values: dict[str, Any]) -> str:
    """Identical provider + model + input → identical key (the output cache)."""
    canonical = json.dumps([provider, model, values], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _catalog_entry(
    request: JobRequest, model: str, settings: GeneratorSettings
) -> ModelEntry | None:
    """The catalog's entry of a Replicate model (None for the animatic's)."""
    if model in ANIMATIC_MODELS.values():
        return None
    entry = settings.model_catalog.entry(model)
    if entry is None or entry.kind is not request.kind:
        known = ", ".join(settings.model_catalog.names(request.kind))
        raise InvalidArgument.single(
            "model", f"unknown {request.kind.value} model {model!r}; known: {known}"
        )
    return entry


def _check_provider(request: JobRequest, provider: str, settings: GeneratorSettings) -> None:
    if provider == REPLICATE and not settings.replicate_api_token:
        raise FailedPrecondition(
            "the replicate provider is not configured: set REPLICATE_API_TOKEN",
            reason="PROVIDER_NOT_CONFIGURED",
        )
    is_animatic_model = request.model == ANIMATIC_MODELS[request.kind]
    if request.model and (provider == ANIMATIC) != is_animatic_model:
        v = Violations()
        v.add("model", f"model {request.model!r} is not run by the {provider} provider")
        v.raise_if_any()


def build_job(
    request: JobRequest, settings: GeneratorSettings, *, enforce_cost_limit: bool = True
) -> JobRecord:
    """The job and its items, priced; raises when the estimate exceeds ``max_cost_micros``."""
    provider = resolve_provider(request.provider, settings)
    _check_provider(request, provider, settings)
    tier = resolve_tier(request.tier, settings)
    model = resolve_model(request.kind, provider, request.model, tier, settings)
    entry = _catalog_entry(request, model, settings)
    now = time.time()
    job = JobRecord(
        id=uuid.uuid4().hex,
        kind=request.kind,
        state=pb.JOB_STATE_PENDING,
        tier=tier,
        aspect_ratio=request.aspect_ratio,
        provider=provider,
        model=model,
        estimated_cost_micros=0,
        created_at=now,
        updated_at=now,
    )
    for index, spec in enumerate(request.specs):
        job.items.append(_item(job, index, spec, entry, settings))
    job.estimated_cost_micros = sum(item.estimated_cost_micros for item in job.items)
    over = job.estimated_cost_micros > request.max_cost_micros
    if enforce_cost_limit and request.max_cost_micros and over:
        raise FailedPrecondition(
            f"estimated cost {job.estimated_cost_micros} micro-USD exceeds max_cost_micros "
            f"{request.max_cost_micros}",
            reason="COST_LIMIT_EXCEEDED",
        )
    return job


def _item(
    job: JobRecord,
    index: int,
    spec: dict[str, Any],
    entry: ModelEntry | None,
    settings: GeneratorSettings,
) -> ItemRecord:
    values = (
        model_input(entry, spec, job.tier, job.aspect_ratio)
        if entry is not None
        else animatic_input(job.kind, spec, job.tier, job.aspect_ratio, settings)
    )
    cost = pricing.estimate(job.model, values, settings.model_catalog)
    return ItemRecord(
        id=uuid.uuid4().hex,
        job_id=job.id,
        index=index,
        kind=job.kind,
        state=pb.ITEM_STATE_QUEUED,
        provider=job.provider,
        model=job.model,
        spec=spec,
        input=values,
        cache_key=cache_key(job.provider, job.model, values),
        estimated_cost_micros=cost.micros,
        created_at=job.created_at,
        updated_at=job.created_at,
    )


def item_seconds(item: ItemRecord, catalog: ModelCatalog | None = None) -> float:
    """An item's planned output length: what its model was asked for (0 without a duration)."""
    if item.provider == ANIMATIC:
        return float(item.input.get("duration_s", 0))
    return planned_seconds((catalog or load_catalog()).entry(item.model), item.input)


def estimate_response(
    job: JobRecord, settings: GeneratorSettings | None = None
) -> pb.EstimateCostResponse:
    """The priced job as an EstimateCost answer (nothing is started); the bundled catalog
    prices it unless ``settings`` name another."""
    catalog = settings.model_catalog if settings is not None else load_catalog()
    return pb.EstimateCostResponse(
        estimated_cost_micros=job.estimated_cost_micros,
        items=[
            pb.ItemCost(
                index=item.index,
                estimated_cost_micros=item.estimated_cost_micros,
                basis=pricing.estimate(item.model, item.input, catalog).basis,
                duration_seconds=item_seconds(item, catalog),
            )
            for item in job.items
        ],
        provider=job.provider,
        model=job.model,
    )
