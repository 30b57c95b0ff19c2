"""The studio's calls to the planner, generator and composer (gRPC), and waiting for their work.

A child that is unavailable (restarting, or not up yet) is waited for: the ad pauses, it does
not fail. Any other refusal is the step's failure, with the child's message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import grpc

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
# Codes that mean "the child is not there right now", not "the child said no".
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
_CHANNEL_OPTIONS = (
    ("grpc.lb_policy_name", "round_robin"),
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
)
_JOB_TERMINAL = frozenset(
    {
        generator_pb2.JOB_STATE_SUCCEEDED,
        generator_pb2.JOB_STATE_FAILED,
        generator_pb2.JOB_STATE_CANCELED,
    }
)
_COMPOSITION_TERMINAL = frozenset(
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


def target(address: str) -> str:
    """``host:port`` becomes a ``dns:///`` target (every replica); a target with a scheme is kept."""
    return (
        address
        if ":/" in address or address.startswith(("ipv4:", "ipv6:", "unix:"))
        else (f"dns:///{address}")
    )


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
            grpc.aio.insecure_channel(target(address), options=_CHANNEL_OPTIONS)
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

    async def images(self, request: generator_pb2.GenerateImagesRequest) -> generator_pb2.Job:
        return await self._call(
            "generator", lambda: self.stubs.generator.GenerateImages(request, timeout=self._timeout)
        )

    async def clips(self, request: generator_pb2.GenerateClipsRequest) -> generator_pb2.Job:
        return await self._call(
            "generator", lambda: self.stubs.generator.GenerateClips(request, timeout=self._timeout)
        )

    async def music(self, request: generator_pb2.GenerateMusicRequest) -> generator_pb2.Job:
        return await self._call(
            "generator", lambda: self.stubs.generator.GenerateMusic(request, timeout=self._timeout)
        )

    async def estimate(
        self, request: generator_pb2.EstimateCostRequest
    ) -> generator_pb2.EstimateCostResponse:
        return await self._call(
            "generator", lambda: self.stubs.generator.EstimateCost(request, timeout=self._timeout)
        )

    async def wait_job(self, job_id: str) -> generator_pb2.Job:
        """The job once terminal (re-attaching by id: the stream is reopened after a restart)."""
        request = generator_pb2.WatchJobRequest(job_id=job_id)
        return await self._last(
            "generator",
            lambda: self.stubs.generator.WatchJob(request),
            lambda j: j.state in _JOB_TERMINAL,
        )

    async def cancel_job(self, job_id: str) -> None:
        request = generator_pb2.CancelJobRequest(job_id=job_id)
        await self.stubs.generator.CancelJob(request, timeout=self._timeout)

    # Composer.

    async def compose(self, request: composer_pb2.ComposeRequest) -> composer_pb2.Composition:
        return await self._call(
            "composer", lambda: self.stubs.composer.Compose(request, timeout=self._timeout)
        )

    async def wait_composition(self, composition_id: str) -> composer_pb2.Composition:
        request = composer_pb2.WatchCompositionRequest(id=composition_id)
        return await self._last(
            "composer",
            lambda: self.stubs.composer.WatchComposition(request),
            lambda c: c.state in _COMPOSITION_TERMINAL,
        )

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
    ) -> _T:
        """Follows a Watch* stream to its terminal snapshot, reopening it when the child restarts."""
        while True:
            try:
                async for snapshot in open_stream():
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
