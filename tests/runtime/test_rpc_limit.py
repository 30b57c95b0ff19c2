"""MAX_CONCURRENT_RPCS: a service runs at most that many calls at once; a call beyond it is
refused at once with RESOURCE_EXHAUSTED (not queued, not a hang), and the limit is reached."""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from pathlib import Path
from typing import Any

import grpc
import pytest

from reelforge.runtime.server import build_host
from reelforge.runtime.settings import ServiceSettings
from reelforge.v1 import planner_pb2, planner_pb2_grpc
from tests.gateway.servicers import ErrorPlanner

LIMIT = 3
CALLS = 5
STEP_TIMEOUT_S = 30.0  # a deadline for steps that must happen (fails instead of hanging)


class _HeldPlanner(ErrorPlanner):
    """ExtractBrief counts itself in flight and waits until the test lets every call finish."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.peak = 0
        self.release = asyncio.Event()
        self.full = asyncio.Event()  # LIMIT calls inside the handler at once

    async def ExtractBrief(
        self, request: planner_pb2.ExtractBriefRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> planner_pb2.ExtractBriefResponse:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight == LIMIT:
            self.full.set()
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        return planner_pb2.ExtractBriefResponse()


@pytest.mark.timeout(60)
async def test_calls_beyond_the_limit_are_refused_and_the_limit_is_reached(
    data_dir: Path,
) -> None:
    settings = ServiceSettings(
        host="127.0.0.1", port=0, data_dir=data_dir, max_concurrent_rpcs=LIMIT
    )
    servicer = _HeldPlanner()
    host, port = await build_host(
        settings, [lambda s: planner_pb2_grpc.add_PlannerServiceServicer_to_server(servicer, s)], []
    )
    await host.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = planner_pb2_grpc.PlannerServiceStub(channel)

            async def call() -> grpc.StatusCode:
                try:
                    await stub.ExtractBrief(
                        planner_pb2.ExtractBriefRequest(), timeout=STEP_TIMEOUT_S
                    )
                except grpc.aio.AioRpcError as error:
                    return error.code()
                return grpc.StatusCode.OK

            calls = [asyncio.create_task(call()) for _ in range(CALLS)]
            # The refused calls end on their own while the admitted ones are still held.
            finished: set[asyncio.Task[grpc.StatusCode]] = set()
            while len(finished) < CALLS - LIMIT:
                done, _ = await asyncio.wait(
                    set(calls) - finished, timeout=STEP_TIMEOUT_S, return_when=FIRST_COMPLETED
                )
                assert done, "no call was refused"
                finished |= done
            early = [task.result() for task in finished]
            await asyncio.wait_for(servicer.full.wait(), STEP_TIMEOUT_S)
            servicer.release.set()
            results = await asyncio.gather(*calls)
    finally:
        await host.stop(0)
    assert early == [grpc.StatusCode.RESOURCE_EXHAUSTED] * (CALLS - LIMIT), early
    assert sorted(r.name for r in results) == sorted(
        ["OK"] * LIMIT + ["RESOURCE_EXHAUSTED"] * (CALLS - LIMIT)
    )
    assert servicer.peak == LIMIT
