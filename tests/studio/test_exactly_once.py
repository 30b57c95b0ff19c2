"""A studio that dies between "child work created" and "its id saved in the ad" must not pay for
(or make) that work again when it resumes the ad: a generator job's twin is served from the
generator's cache once the first has finished; a Compose repeated with its request id returns
the composition already made."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from reelforge.v1 import composer_pb2, composer_pb2_grpc, generator_pb2
from services.studio.children import Children
from tests.fakes.replicate_server import FakeReplicate
from tests.studio.helpers import Client, Stack, create_ad, paid_items, reachable, watch_ad

# Long enough that the first clips job is still running when the restarted studio resumes.
PREDICTION_S = 3.0
# From CreateAd to the step that dies: seed images and clips before the compose; offline on a
# loaded 2-core machine that took over 30 s once. A deadline, not a pass bound.
REACH_BOUND_S = 180.0


def die_after(
    monkeypatch: pytest.MonkeyPatch, method: str, when: Callable[[Any], bool]
) -> asyncio.Event:
    """``Children.<method>`` sends its create, then (for a request ``when`` picks) hangs, as a
    process killed right there would: the answer's id is never saved. The event says it did."""
    created = asyncio.Event()
    real = getattr(Children, method)

    async def create_then_die(self: Children, request: Any, *args: Any) -> Any:
        answer = await real(self, request, *args)
        if when(request):
            created.set()
            await asyncio.Event().wait()
        return answer

    monkeypatch.setattr(Children, method, create_then_die)
    return created


async def crash_and_restart(
    stack: Stack, created: asyncio.Event, monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    await asyncio.wait_for(created.wait(), REACH_BOUND_S)
    monkeypatch.undo()
    await stack.restart_studio()
    await reachable(client)


async def test_a_crash_after_a_job_create_before_its_id_is_saved_pays_once(
    hosted_client: Client,
    hosted_stack: Stack,
    fake: FakeReplicate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake.latency_s = PREDICTION_S
    clips = die_after(
        monkeypatch, "start_job", lambda r: isinstance(r, generator_pb2.GenerateClipsRequest)
    )
    ad = await create_ad(hosted_client)
    await crash_and_restart(hosted_stack, clips, monkeypatch, hosted_client)

    final = (await watch_ad(hosted_client, ad["id"]))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    assert fake.creates == paid_items(final), "the clips were paid for twice"


async def test_a_crash_after_compose_before_its_id_is_saved_composes_once(
    client: Client, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    composed = die_after(monkeypatch, "compose", lambda _: True)
    ad = await create_ad(client)
    await crash_and_restart(stack, composed, monkeypatch, client)

    final = (await watch_ad(client, ad["id"]))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['composer']}") as channel:
        stub = composer_pb2_grpc.ComposerServiceStub(channel)
        listed = await stub.ListCompositions(composer_pb2.ListCompositionsRequest(), timeout=10)
    assert [c.id for c in listed.compositions] == [final["renders"][0]["compositionId"]]
