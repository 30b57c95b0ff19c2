"""gRPC servicer of the generator service: validates, then hands work to the job engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from grpc.aio import ServicerContext

from reelforge.runtime import page_tokens
from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.errors import InvalidArgument
from reelforge.runtime.validation import Violations
from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.catalog import ANIMATIC, PROVIDERS, Kind, known_models, resolve_provider
from services.generator.job_builder import (
    GenerateRequest,
    build_job,
    estimate_response,
    job_request,
)
from services.generator.records import TERMINAL_JOB_STATES
from services.generator.rows import to_us
from services.generator.snapshots import job_to_proto
from services.generator.validation import (
    Catalog,
    brand_images,
    check_generate,
    check_job_id,
    check_list_jobs,
)
from services.generator.voices import offline_voices
from services.generator.wiring import Generator

_Context = ServicerContext[Any, Any]
# What a product photo or logo may be: an SVG is rasterised to PNG for the offline animatic and
# before it is sent to a hosted model (reelforge/runtime/svg.py).
_RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/svg+xml"})
_DEFAULT_PAGE = 20


class GeneratorServicer(generator_pb2_grpc.GeneratorServiceServicer):
    def __init__(self, generator: Generator) -> None:
        self._generator = generator
        self._settings = generator.settings
        self._engine = generator.engine

    async def GenerateImages(self, request: pb.GenerateImagesRequest, context: _Context) -> pb.Job:
        return await self._start(Kind.IMAGES, request)

    async def GenerateClips(self, request: pb.GenerateClipsRequest, context: _Context) -> pb.Job:
        return await self._start(Kind.CLIPS, request)

    async def GenerateMusic(self, request: pb.GenerateMusicRequest, context: _Context) -> pb.Job:
        return await self._start(Kind.MUSIC, request)

    async def GenerateVoice(self, request: pb.GenerateVoiceRequest, context: _Context) -> pb.Job:
        return await self._start(Kind.VOICE, request)

    async def GetJob(self, request: pb.GetJobRequest, context: _Context) -> pb.Job:
        check_job_id(request.job_id)
        return await self._engine.get(request.job_id)

    async def ListJobs(self, request: pb.ListJobsRequest, context: _Context) -> pb.ListJobsResponse:
        check_list_jobs(request).raise_if_any()
        size = request.page_size or _DEFAULT_PAGE
        kind = Kind.from_job_kind(request.kind).value if request.kind else ""
        jobs = await self._generator.repo.list_jobs(
            limit=size + 1,
            after=page_tokens.after(request.page_token),
            state=request.state,
            kind=kind,
        )
        # The token carries the stored integer microseconds, as every service's does.
        page, token = page_tokens.next_page(jobs, size, lambda job: (to_us(job.created_at), job.id))
        return pb.ListJobsResponse(
            jobs=[job_to_proto(job, self._settings.model_catalog) for job in page],
            next_page_token=token,
        )

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: _Context
    ) -> AsyncIterator[pb.Job]:
        check_job_id(request.job_id)
        # Subscribe before reading the snapshot so no change in between is missed.
        with self._engine.subscribe(request.job_id) as updates:
            snapshot = await self._engine.get(request.job_id)
            yield snapshot
            if snapshot.state in TERMINAL_JOB_STATES:
                return
            async for job in updates:
                if job == snapshot:
                    continue
                snapshot = job
                yield job
                if job.state in TERMINAL_JOB_STATES:
                    return

    async def CancelJob(self, request: pb.CancelJobRequest, context: _Context) -> pb.Job:
        check_job_id(request.job_id)
        return await self._engine.cancel(request.job_id)

    async def RetryJob(self, request: pb.RetryJobRequest, context: _Context) -> pb.Job:
        check_job_id(request.job_id)
        return await self._engine.retry(request.job_id)

    async def EstimateCost(
        self, request: pb.EstimateCostRequest, context: _Context
    ) -> pb.EstimateCostResponse:
        which = request.WhichOneof("request")
        if which is None:
            raise InvalidArgument.single("request", "set one of images, clips, music or voice")
        kind = Kind(which)
        inner: GenerateRequest = getattr(request, which)
        self._validate(kind, inner, prefix=f"{which}.")
        job = build_job(job_request(kind, inner), self._settings, enforce_cost_limit=False)
        return estimate_response(job, self._settings)

    async def HandleProviderWebhook(
        self, request: pb.HandleProviderWebhookRequest, context: _Context
    ) -> pb.HandleProviderWebhookResponse:
        return await self._generator.webhooks.handle(request)

    async def _start(self, kind: Kind, request: GenerateRequest) -> pb.Job:
        self._validate(kind, request)
        return await self._engine.submit(build_job(job_request(kind, request), self._settings))

    def _validate(self, kind: Kind, request: GenerateRequest, prefix: str = "") -> None:
        offline = resolve_provider(request.provider, self._settings) == ANIMATIC
        # Without espeak-ng's list (not installed) the render itself says what is missing.
        voices = (offline_voices() or None) if kind is Kind.VOICE and offline else None
        catalog = Catalog(
            PROVIDERS,
            known_models(kind, self._settings.model_catalog),
            self._settings.allow_networks,
            voices,
        )
        violations = check_generate(request, catalog, prefix)
        self._check_artifacts_exist(kind, request, violations, prefix)
        violations.raise_if_any()

    def _check_artifacts_exist(
        self, kind: Kind, request: GenerateRequest, v: Violations, prefix: str
    ) -> None:
        """Artifact ids must name stored files: a seed image is read from the store at submission."""
        store = self._generator.providers.store
        refs: list[tuple[str, str]] = []
        if isinstance(request, pb.GenerateClipsRequest):
            refs = [
                (f"{prefix}clips[{i}].image", spec.image) for i, spec in enumerate(request.clips)
            ]
            for i, clip in enumerate(request.clips):
                refs += [
                    (f"{prefix}clips[{i}].reference_images[{j}]", ref)
                    for j, ref in enumerate(clip.reference_images)
                ]
                if clip.last_frame_image:
                    refs.append((f"{prefix}clips[{i}].last_frame_image", clip.last_frame_image))
        elif isinstance(request, pb.GenerateImagesRequest):
            refs = [
                (f"{prefix}images[{i}].reference_images[{j}]", ref)
                for i, spec in enumerate(request.images)
                for j, ref in enumerate(spec.reference_images)
            ]
            for i, spec in enumerate(request.images):
                for field, ref in brand_images(spec, f"{prefix}images[{i}]"):
                    meta = store.get(ref) if is_artifact_id(ref) else None
                    if meta is not None and meta.mime_type not in _RASTER_TYPES:
                        v.add(
                            field, f"must be a PNG, JPEG, WebP or SVG image (got {meta.mime_type})"
                        )
                    refs.append((field, ref))
        for field, value in refs:
            if is_artifact_id(value) and store.get(value) is None:
                v.add(field, f"artifact {value} not found")
