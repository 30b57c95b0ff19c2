"""The studio's calls to the planner, generator and composer (gRPC), and waiting for their work.

A child that is unavailable (restarting, or not up yet) is waited for: the ad pauses, it does
not fail. Any other refusal is the step's failure, with the child's message.

Starting paid work is the delicate call: a create whose answer never arrived (the studio died
before saving the new id, or the call broke off) may have made the job anyway. A Compose
carries a request id, so the composer returns the composition it already made. The generator
takes no request id yet, so a job create sent again first waits out every job the earlier
attempt may have made: the identical new request is then served from the generator's cache
at no cost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import grpc

from reelforge.runtime.channels import open_channel
from reelforge.v1 import (
    composer_pb2,
    composer_pb2_grpc,
    generator_pb2,
    generator_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
)
from services.studio.settings import StudioSettings

if TYPE_CHECKING:
    # The async stub types exist in the stubs only; at run time the plain Stub classes serve.
    from reelforge.v1.composer_pb2_grpc import ComposerServiceAsyncStub as ComposerStub
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as GeneratorStub
    from reelforge.v1.planner_pb2_grpc import PlannerServiceAsyncStub as PlannerStub

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
JobRequest = (
    generator_pb2.GenerateImagesRequest
    | generator_pb2.GenerateClipsRequest
    | generator_pb2.GenerateMusicRequest
    | generator_pb2.GenerateVoiceRequest
)
# Codes that mean "the child is not there right now", not "the child said no".
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
# A create that ends so may or may not have made the work.
_OUTCOME_UNKNOWN = _TRANSIENT | {grpc.StatusCode.DEADLINE_EXCEEDED}
# The children's clocks may differ from ours: work made "before" a send is looked for this far back.
_CLOCK_SKEW_S = 120.0
_LIST_PAGE = 100
_ESTIMATE_FIELDS = {
    generator_pb2.JOB_KIND_IMAGES: "images",
    generator_pb2.JOB_KIND_CLIPS: "clips",
    generator_pb2.JOB_KIND_MUSIC: "music",
    generator_pb2.JOB_KIND_VOICE: "voice",
}
JOB_TERMINAL = frozenset(
    {
        generator_pb2.JOB_STATE_SUCCEEDED,
        generator_pb2.JOB_STATE_FAILED,
        generator_pb2.JOB_STATE_CANCELED,
    }
)
COMPOSITION_TERMINAL = frozenset(
    {
        composer_pb2.COMPOSITION_STATE_COMPLETED,
        composer_pb2.COMPOSITION_STATE_FAILED,
        composer_pb2.COMPOSITION_STATE_CANCELED,
    }
)


class ChildRefused(Exception):
    """A child service refused a call (bad request, over the cost cap, not found)."""

    def __init__(self, service: str, error: grpc.aio.AioRpcError) -> None:
        self.code = error.code()
        super().__init__(f"{service}: {error.details() or error.code().name}")


@dataclass
class _Stubs:
    planner: PlannerStub
    generator: GeneratorStub
    composer: ComposerStub
    channels: list[grpc.aio.Channel]


class Children:
    """Stubs of the three child services; channels open in :meth:`open`, close in :meth:`close`."""

    def __init__(self, settings: StudioSettings) -> None:
        self._settings = settings
        self._stubs: _Stubs | None = None

    async def open(self) -> None:
        s = self._settings
        channels = [
            open_channel(address)
            for address in (s.planner_address, s.generator_address, s.composer_address)
        ]
        self._stubs = _Stubs(
            planner_pb2_grpc.PlannerServiceStub(channels[0]),
            generator_pb2_grpc.GeneratorServiceStub(channels[1]),
            composer_pb2_grpc.ComposerServiceStub(channels[2]),
            channels,
        )

    async def close(self) -> None:
        if self._stubs is not None:
            for channel in self._stubs.channels:
                await channel.close()

    @property
    def stubs(self) -> _Stubs:
        assert self._stubs is not None, "Children.open() was not called"
        return self._stubs

    # Planner (no money at stake in the studio's books: a repeated call costs tokens only).

    async def moods(
        self, request: planner_pb2.GenerateMoodsRequest
    ) -> planner_pb2.GenerateMoodsResponse:
        timeout = self._settings.planner_timeout_s
        return await self._call(
            "planner", lambda: self.stubs.planner.GenerateMoods(request, timeout=timeout)
        )

    async def plan(self, request: planner_pb2.PlanScenesRequest) -> planner_pb2.PlanScenesResponse:
        timeout = self._settings.planner_timeout_s
        return await self._call(
            "planner", lambda: self.stubs.planner.PlanScenes(request, timeout=timeout)
        )

    # Generator.

    async def start_job(self, request: JobRequest, sent_before: float | None) -> generator_pb2.Job:
        """Starts a generator job. ``sent_before`` (unix seconds): an earlier attempt of this
        very request was sent then and its answer never saved. Before sending it again (that
        attempt's, or one cut off here), the jobs it may have made are waited out."""
        kind, count = _job_shape(request)
        since = sent_before
        while True:
            if since is not None:
                await self._settle_jobs(kind, count, since)
            sent = time.time()
            try:
                return await self._generate(request)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _OUTCOME_UNKNOWN:
                    raise ChildRefused("generator", error) from None
                await self._pause("generator", error)
                since = sent if since is None else since

    async def estimate_job(self, request: JobRequest) -> int:
        """The generator's estimate for ``request``, micro-USD."""
        kind, _ = _job_shape(request)
        estimate = generator_pb2.EstimateCostRequest()
        getattr(estimate, _ESTIMATE_FIELDS[kind]).CopyFrom(request)
        return (await self.estimate(estimate)).estimated_cost_micros

    def _generate(self, request: JobRequest) -> Awaitable[generator_pb2.Job]:
        stub, timeout = self.stubs.generator, self._timeout
        if isinstance(request, generator_pb2.GenerateImagesRequest):
            return stub.GenerateImages(request, timeout=timeout)
        if isinstance(request, generator_pb2.GenerateClipsRequest):
            return stub.GenerateClips(request, timeout=timeout)
        if isinstance(request, generator_pb2.GenerateVoiceRequest):
            return stub.GenerateVoice(request, timeout=timeout)
        return stub.GenerateMusic(request, timeout=timeout)

    async def _settle_jobs(
        self, kind: generator_pb2.JobKind.ValueType, count: int, since: float
    ) -> None:
        """Waits until every job an attempt sent at ``since`` may have made has ended: jobs of
        its kind and size made since then (give or take the clocks). Jobs show no request, so
        others' lookalikes are waited for too; that costs time, never money."""
        bound_us = int((since - _CLOCK_SKEW_S) * 1_000_000)
        token = ""
        while True:
            page = await self._call(
                "generator",
                partial(
                    self.stubs.generator.ListJobs,
                    generator_pb2.ListJobsRequest(
                        kind=kind, page_size=_LIST_PAGE, page_token=token
                    ),
                    timeout=self._timeout,
                ),
            )
            for job in page.jobs:
                if job.created_at.ToMicroseconds() < bound_us:
                    return
                if len(job.items) == count and job.state not in JOB_TERMINAL:
                    _LOGGER.info("waiting out job %s (maybe an unanswered create's)", job.id)
                    await self.wait_job(job.id)
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def estimate(
        self, request: generator_pb2.EstimateCostRequest
    ) -> generator_pb2.EstimateCostResponse:
        return await self._call(
            "generator", lambda: self.stubs.generator.EstimateCost(request, timeout=self._timeout)
        )

    async def wait_job(
        self, job_id: str, on_snapshot: Callable[[generator_pb2.Job], None] | None = None
    ) -> generator_pb2.Job:
        """The job once terminal (re-attaching by id: the stream is reopened after a restart);
        ``on_snapshot`` sees every snapshot on the way (items land one by one)."""
        request = generator_pb2.WatchJobRequest(job_id=job_id)
        return await self._last(
            "generator",
            lambda: self.stubs.generator.WatchJob(request),
            lambda j: j.state in JOB_TERMINAL,
            on_snapshot,
        )

    async def get_job(self, job_id: str) -> generator_pb2.Job:
        """The job as it is now (not waited for)."""
        request = generator_pb2.GetJobRequest(job_id=job_id)
        return await self._call(
            "generator", lambda: self.stubs.generator.GetJob(request, timeout=self._timeout)
        )

    async def cancel_job(self, job_id: str) -> None:
        request = generator_pb2.CancelJobRequest(job_id=job_id)
        await self.stubs.generator.CancelJob(request, timeout=self._timeout)

    # Composer.

    async def compose(self, request: composer_pb2.ComposeRequest) -> composer_pb2.Composition:
        """Starts a composition; safe to repeat, as the request carries its request_id."""
        return await self._call(
            "composer", lambda: self.stubs.composer.Compose(request, timeout=self._timeout)
        )

    async def wait_composition(self, composition_id: str) -> composer_pb2.Composition:
        request = composer_pb2.WatchCompositionRequest(id=composition_id)
        return await self._last(
            "composer",
            lambda: self.stubs.composer.WatchComposition(request),
            lambda c: c.state in COMPOSITION_TERMINAL,
        )

    async def prepare_segments(
        self, request: composer_pb2.ComposeRequest, timeout_s: float
    ) -> composer_pb2.PreparedSegments:
        """Asks the composer to encode the pieces the request's clips so far can make; one
        try (it is best effort: the Compose encodes whatever is missing)."""
        return await self.stubs.composer.PrepareSegments(request, timeout=timeout_s)

    async def cancel_composition(self, composition_id: str) -> None:
        request = composer_pb2.CancelCompositionRequest(id=composition_id)
        await self.stubs.composer.CancelComposition(request, timeout=self._timeout)

    @property
    def _timeout(self) -> float:
        return self._settings.call_timeout_s

    async def _call(self, service: str, call: Callable[[], Awaitable[_T]]) -> _T:
        while True:
            try:
                return await call()
            except grpc.aio.AioRpcError as error:
                if error.code() not in _TRANSIENT:
                    raise ChildRefused(service, error) from None
                await self._pause(service, error)

    async def _last(
        self,
        service: str,
        open_stream: Callable[[], AsyncIterable[_T]],
        terminal: Callable[[_T], bool],
        on_snapshot: Callable[[_T], None] | None = None,
    ) -> _T:
        """Follows a Watch* stream to its terminal snapshot, reopening it when the child restarts."""
        while True:
            try:
                async for snapshot in open_stream():
                    if on_snapshot is not None:
                        on_snapshot(snapshot)
                    if terminal(snapshot):
                        return snapshot
                _LOGGER.warning("%s ended a watch before a terminal state; watching again", service)
                await asyncio.sleep(self._settings.retry_interval_s)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _TRANSIENT:
                    raise ChildRefused(service, error) from None
                await self._pause(service, error)

    async def _pause(self, service: str, error: grpc.aio.AioRpcError) -> None:
        _LOGGER.warning("%s unavailable (%s); trying again", service, error.code().name)
        await asyncio.sleep(self._settings.retry_interval_s)


def _job_shape(request: JobRequest) -> tuple[generator_pb2.JobKind.ValueType, int]:
    """The kind and number of items of the job ``request`` makes."""
    if isinstance(request, generator_pb2.GenerateImagesRequest):
        return generator_pb2.JOB_KIND_IMAGES, len(request.images)
    if isinstance(request, generator_pb2.GenerateClipsRequest):
        return generator_pb2.JOB_KIND_CLIPS, len(request.clips)
    if isinstance(request, generator_pb2.GenerateVoiceRequest):
        return generator_pb2.JOB_KIND_VOICE, len(request.lines)
    return generator_pb2.JOB_KIND_MUSIC, 1
