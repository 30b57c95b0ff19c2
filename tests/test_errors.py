"""Domain errors reach clients as google.rpc.Status with details; unknown errors hide internals."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from reelforge.runtime.errors import InvalidArgument, ResourceExhausted, Unimplemented
from reelforge.runtime.server import build_host
from reelforge.runtime.settings import ServiceSettings
from reelforge.v1 import planner_pb2, planner_pb2_grpc
from services.planner.server import SERVICE_NAME
from services.planner.servicer import PlannerServicer
from services.planner.settings import PlannerSettings
from services.planner.wiring import build_planner
from tests.grpc_helpers import field_violations


class _FailingPlanner(PlannerServicer):
    async def GenerateMoods(self, request, context):  # type: ignore[no-untyped-def]
        raise InvalidArgument.single("count", "must be between 1 and 6 (got 9)")

    async def PlanScenes(self, request, context):  # type: ignore[no-untyped-def]
        raise ResourceExhausted("rate limited", retry_after_s=7)

    async def ExtractBrief(self, request, context):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals /etc/passwd")

    async def Converse(self, request, context):  # type: ignore[no-untyped-def]
        raise Unimplemented("Converse is not implemented yet")
        yield  # a server-streaming handler is an async generator


async def _start(data_dir: Path) -> tuple[object, grpc.aio.Channel]:
    settings = PlannerSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    servicer = _FailingPlanner(build_planner(settings))
    host, port = await build_host(
        settings,
        [lambda s: planner_pb2_grpc.add_PlannerServiceServicer_to_server(servicer, s)],
        [SERVICE_NAME],
    )
    await host.start()
    return host, grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def test_error_details(data_dir: Path) -> None:
    host, channel = await _start(data_dir)
    stub = planner_pb2_grpc.PlannerServiceStub(channel)
    try:
        violations = await field_violations(
            stub.GenerateMoods(planner_pb2.GenerateMoodsRequest(), timeout=5)
        )
        assert list(violations) == ["count"]

        plan_call = stub.PlanScenes(planner_pb2.PlanScenesRequest(), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await plan_call
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = await rpc_status.aio.from_call(plan_call)
        retry = error_details_pb2.RetryInfo()
        assert status is not None and any(d.Unpack(retry) for d in status.details)
        assert retry.retry_delay.seconds == 7

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ExtractBrief(planner_pb2.ExtractBriefRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert "secret" not in (caught.value.details() or "")
    finally:
        await channel.close()
        await host.stop(0)  # type: ignore[attr-defined]


async def test_domain_error_in_a_stream_reaches_the_client(data_dir: Path) -> None:
    settings = ServiceSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    host, channel = await _start(settings.data_dir)
    try:
        stub = planner_pb2_grpc.PlannerServiceStub(channel)
        stream = stub.Converse(planner_pb2.ConverseRequest(), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stream:
                pass
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "Converse" in (caught.value.details() or "")
    finally:
        await channel.close()
        await host.stop(0)  # type: ignore[attr-defined]
