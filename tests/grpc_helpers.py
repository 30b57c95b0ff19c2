"""Helpers for tests that run real gRPC servers on port 0."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from reelforge.runtime.server import ServiceHost
from reelforge.runtime.settings import ServiceSettings

_S = TypeVar("_S", bound=ServiceSettings)


@contextlib.asynccontextmanager
async def running_service(
    create_server: Callable[[_S], Awaitable[tuple[ServiceHost, int]]], settings: _S
) -> AsyncIterator[tuple[grpc.aio.Channel, int]]:
    """Starts the service in-process on its settings' port (0 = any) and yields a channel to it."""
    host, port = await create_server(settings)
    await host.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, port
    finally:
        await host.stop(0)


async def field_violations(call: Any) -> dict[str, str]:
    """Awaits a call that must fail with INVALID_ARGUMENT; returns its violations, field → why."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = await rpc_status.aio.from_call(call)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad) for detail in status.details)
    return {v.field: v.description for v in bad.field_violations}
