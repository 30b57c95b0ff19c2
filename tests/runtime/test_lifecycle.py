"""The shared service shape: StoredWork's open and close order, the contract service a servicer
implements, and other replicas' changes reaching only what is watched here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from reelforge.runtime.database import create_engine
from reelforge.runtime.events import Broadcaster, ReplicaChanges
from reelforge.runtime.lifecycle import ClientsOnly, Part, Resources, StoredWork
from reelforge.runtime.server import contract_service, create_host
from reelforge.runtime.settings import ServiceSettings
from services.planner.servicer import PlannerServicer
from services.planner.settings import PlannerSettings
from services.planner.wiring import build_planner


class _Work:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def resume_interrupted(self) -> int:
        self.events.append("work resumed")
        return 0

    async def shutdown(self) -> None:
        self.events.append("work stopped")


class _Loop:
    def __init__(self, events: list[str], name: str) -> None:
        self.events = events
        self.name = name

    async def start(self) -> None:
        self.events.append(f"{self.name} started")

    async def aclose(self) -> None:
        self.events.append(f"{self.name} stopped")


async def test_stored_work_opens_in_order_and_closes_newest_first(tmp_path: Path) -> None:
    events: list[str] = []
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'work.db'}")

    async def create_schema() -> None:
        events.append("schema")

    async def close_session() -> None:
        events.append("session closed")

    channels = _Loop(events, "channels")
    lifecycle = StoredWork(
        database,
        create_schema,
        _Work(events),
        clients=[close_session],
        parts=[Part(channels.start, channels.aclose)],
        loops=[_Loop(events, "pruner")],
    )
    resources = Resources()
    await lifecycle.open(resources)
    await lifecycle.resume()
    await resources.aclose()

    assert events == [
        "schema",
        "channels started",
        "pruner started",
        "work resumed",
        "pruner stopped",  # closes, newest first: loops, the work, then what it needed
        "work stopped",
        "channels stopped",
        "session closed",
    ]


async def test_a_failing_schema_closes_what_was_registered_before_it(tmp_path: Path) -> None:
    events: list[str] = []

    async def create_schema() -> None:
        raise OSError("database unreachable")

    async def close_session() -> None:
        events.append("session closed")

    database = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'work.db'}")
    lifecycle = StoredWork(database, create_schema, _Work(events), clients=[close_session])
    resources = Resources()
    with pytest.raises(OSError):
        await lifecycle.open(resources)
    await resources.aclose()

    assert events == ["session closed"]  # the work never started, so it is not stopped


def test_the_contract_service_is_read_from_the_generated_base_class() -> None:
    name, _register = contract_service(_planner_servicer())
    assert name == "reelforge.v1.PlannerService"
    with pytest.raises(TypeError, match="subclasses no generated"):
        contract_service(object())


async def test_a_created_host_serves_its_contract_service() -> None:
    settings = ServiceSettings(host="127.0.0.1", port=0)
    host, port = await create_host(settings, _planner_servicer(), ClientsOnly([]))
    async with host, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs' HealthStub lacks methods
        answer = await health.Check(
            health_pb2.HealthCheckRequest(service="reelforge.v1.PlannerService")
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def _planner_servicer() -> PlannerServicer:
    settings = PlannerSettings(host="127.0.0.1", port=0, planner_provider="offline")
    return PlannerServicer(build_planner(settings))


async def test_replica_changes_re_read_only_watched_keys() -> None:
    hub: Broadcaster[str] = Broadcaster()
    reread: list[str] = []

    async def republish(key: str) -> None:
        reread.append(key)
        hub.publish(key, f"fresh {key}")

    changes = ReplicaChanges(hub, republish)
    with hub.subscribe("watched") as updates:
        changes.on_changed("unwatched")
        changes.on_changed("watched")
        assert await anext(updates) == "fresh watched"
        changes.republish_watched()  # after a LISTEN reconnection
        assert await anext(updates) == "fresh watched"
    await changes.aclose()

    assert reread == ["watched", "watched"]


async def test_closing_replica_changes_cancels_pending_re_reads() -> None:
    hub: Broadcaster[str] = Broadcaster()
    cancelled = asyncio.Event()

    async def republish(_key: str) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    changes = ReplicaChanges(hub, republish)
    with hub.subscribe("watched"):
        changes.on_changed("watched")
        await asyncio.sleep(0)
        await changes.aclose()
    assert cancelled.is_set()
