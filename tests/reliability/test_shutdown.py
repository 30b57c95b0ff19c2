"""SIGTERM under load: in-flight calls end well, the process exits 0 in its grace period, rows
are consistent, and the next start finishes the work."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.runtime.server import build_host
from reelforge.runtime.settings import ServiceSettings
from reelforge.v1 import planner_pb2, planner_pb2_grpc
from tests.fakes.openai_server import FakeOpenAI, slow
from tests.fakes.replicate_server import FakeReplicate
from tests.gateway.servicers import ErrorPlanner
from tests.helpers import wait_until
from tests.reliability.processes import ServiceProcess, service_processes
from tests.runtime.processes import freeze_ffmpeg_under

GRACE_S = 3.0
# Interpreter teardown and closing the database after the grace period; generous because a
# loaded 2-core machine is slow to tear down. "Exits within its grace" means GRACE_S + this.
EXIT_MARGIN_S = 5.0
# Fake predictions take this long from create to terminal: far longer than a SIGTERM, the
# grace and the exit take, so the generator stops with every item still RUNNING and the
# restart has real work to resume (checked below at the fake, so a too-slow machine says so).
PREDICTION_LATENCY_S = 15.0
# The gateway's gRPC reconnect back-off is capped at 2 s (gateway/upstreams.py) with gRPC's
# ±20 % jitter; plus one call through the gateway on a loaded machine. The docs say "~2 s";
# gRPC's default back-off would exceed this after a few seconds down.
RECONNECT_BOUND_S = 2.0 * 1.2 + 1.0
# Only a deadline for steps that must happen (fails instead of hanging); not a pass bound.
STEP_TIMEOUT_S = 30.0
TERMINAL_JOB = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELED")
# What a caller may see while a service drains: success, or "unavailable, try again".
ALLOWED_UNARY = {200, 503}
ALLOWED_STREAM_ERRORS = {"UNAVAILABLE", "CANCELLED"}
ACTIVE_ITEM_STATES = ("QUEUED", "SUBMITTING", "RUNNING", "DOWNLOADING")  # as stored


# What a running stack gives a test: the service processes, the gateway URL, an HTTP session.
Running = tuple[dict[str, ServiceProcess], str, aiohttp.ClientSession]


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeOpenAI, FakeReplicate]]:
    async with FakeOpenAI() as openai, FakeReplicate(latency_s=PREDICTION_LATENCY_S) as replicate:
        yield openai, replicate


@contextlib.asynccontextmanager
async def stack(
    env: dict[str, str],
    fakes: tuple[FakeOpenAI, FakeReplicate],
    logs: Path,
    grace_s: float = GRACE_S,
    **extra: str,
) -> AsyncIterator[Running]:
    openai, replicate = fakes
    hosted = {
        **env,
        "PLANNER_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai.base_url,
        "VIDEO_PROVIDER": "replicate",
        "REPLICATE_API_TOKEN": replicate.token,
        "REPLICATE_BASE_URL": replicate.base_url,
        "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "POLL_INITIAL_S": "0.1",
        "POLL_MAX_S": "0.3",
        "GRACE_PERIOD_S": str(grace_s),
        "LOG_LEVEL": "INFO",
        **extra,
    }
    async with (
        service_processes(hosted, logs) as services,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
    ):
        yield services, f"http://127.0.0.1:{services['gateway'].port}", http


StartStack = Callable[..., contextlib.AbstractAsyncContextManager[Running]]


@pytest.fixture
def start_stack(
    subprocess_env: dict[str, str], tmp_path: Path, fakes: tuple[FakeOpenAI, FakeReplicate]
) -> StartStack:
    """``stack`` over this test's environment, fakes and folder (grace and extra env vary)."""
    return functools.partial(stack, subprocess_env, fakes, tmp_path)


@pytest.fixture
def openai(fakes: tuple[FakeOpenAI, FakeReplicate]) -> FakeOpenAI:
    return fakes[0]


@pytest.fixture
def replicate(fakes: tuple[FakeOpenAI, FakeReplicate]) -> FakeReplicate:
    return fakes[1]


async def _hammer(
    http: aiohttp.ClientSession, urls: list[str], stop: asyncio.Event, answered: asyncio.Event
) -> Counter[Any]:
    """Keeps every URL busy until ``stop``; counts statuses (and connection errors by name).

    ``answered`` is set once every URL has had an answer: the load is really in flight.
    """
    seen: Counter[Any] = Counter()
    waiting = len(urls)

    async def worker(url: str) -> None:
        nonlocal waiting
        first = True
        while not stop.is_set():
            try:
                async with http.get(url) as answer:
                    await answer.read()
                    seen[answer.status] += 1
                if answer.status != 200:
                    await asyncio.sleep(0.01)  # a caller backing off, not a spin on the CPU
            except aiohttp.ClientError as error:
                seen[type(error).__name__] += 1
                await asyncio.sleep(0.01)
            if first:
                first, waiting = False, waiting - 1
                if not waiting:
                    answered.set()

    await asyncio.gather(*(worker(url) for url in urls))
    return seen


async def _sse_events(
    http: aiohttp.ClientSession, url: str, first: asyncio.Event
) -> list[tuple[str, str]]:
    """(event, data) pairs of an SSE stream until it ends; ``first`` is set at the first event.

    A dropped connection is not an end: it raises (ClientPayloadError, ServerDisconnectedError).
    """
    events: list[tuple[str, str]] = []
    name, data = "message", ""
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=60)) as answer:
        assert answer.status == 200, await answer.text()
        async for raw in answer.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif not line and data:
                events.append((name, data))
                name, data = "message", ""
                first.set()
    return events


def _stream_ended_acceptably(events: list[tuple[str, str]]) -> None:
    """The docs' promise: the snapshot first, and last an `end` or an UNAVAILABLE/CANCELLED error."""
    assert events and events[0][0] == "message", events
    last_name, last_data = events[-1]
    assert last_name in ("end", "error"), events[-1]
    if last_name == "error":
        assert json.loads(last_data)["code"] in ALLOWED_STREAM_ERRORS, last_data


async def _watched_under_load(
    http: aiohttp.ClientSession, watch_url: str, urls: list[str], stop: asyncio.Event
) -> tuple[asyncio.Task[list[tuple[str, str]]], asyncio.Task[Counter[Any]]]:
    """Starts an SSE watch and the load; returns once both are in flight (events, not sleeps)."""
    watching, answered = asyncio.Event(), asyncio.Event()
    watch = asyncio.create_task(_sse_events(http, watch_url, watching))
    load = asyncio.create_task(_hammer(http, urls, stop, answered))
    in_flight = asyncio.gather(watching.wait(), answered.wait())
    await asyncio.wait_for(in_flight, STEP_TIMEOUT_S)
    return watch, load


async def _get_json(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url) as answer:
        assert answer.status == 200, await answer.text()
        body: dict[str, Any] = await answer.json()
        return body


async def _back_in_service(
    http: aiohttp.ClientSession, url: str, service: ServiceProcess, *, post: bool = False
) -> float:
    """Restarts the service; returns how long the gateway kept answering 503 after it was ready.

    ``post`` probes with an empty POST body, which the service itself refuses with a 400.
    """
    await service.start()
    await service.ready()
    ready_at = time.monotonic()

    async def answers() -> bool:
        async with http.request("POST" if post else "GET", url, json={} if post else None) as r:
            assert r.status in (200, 400, 503), await r.text()
            return bool(r.status != 503)

    await wait_until(answers, timeout_s=STEP_TIMEOUT_S, what="the gateway to reach the service")
    took = time.monotonic() - ready_at
    assert took <= RECONNECT_BOUND_S, f"the gateway answered 503 for {took:.1f} s after ready"
    return took


@pytest.mark.timeout(180)
async def test_generator_sigterm_with_jobs_running_then_resume(
    data_dir: Path, start_stack: StartStack, replicate: FakeReplicate
) -> None:
    async with start_stack() as (services, url, http):
        jobs = []
        for j in range(3):
            body = {"images": [{"prompt": f"drain job {j} image {k}"} for k in range(2)]}
            async with http.post(f"{url}/api/images/generate", json=body) as answer:
                jobs.append((await answer.json())["id"])

        async def all_running() -> bool:
            states = [await _get_json(http, f"{url}/api/jobs/{j}") for j in jobs]
            return all(i["predictionId"] for job in states for i in job["items"])

        await wait_until(all_running, timeout_s=STEP_TIMEOUT_S, what="every prediction id stored")
        stop = asyncio.Event()
        watch, load = await _watched_under_load(
            http,
            f"{url}/api/jobs/{jobs[0]}/events",
            [f"{url}/api/jobs/{j}" for j in jobs] + [f"{url}/api/jobs"] * 3,
            stop,
        )
        generator = services["generator"]
        started = time.monotonic()
        generator.terminate()
        code = await generator.exited(GRACE_S + EXIT_MARGIN_S)
        took = time.monotonic() - started
        # The premise of the resume below: no prediction could finish before the process did.
        unfinished = [p.id for p in replicate.predictions.values() if not p.terminal]
        assert len(unfinished) == 6, "predictions ended before exit: raise PREDICTION_LATENCY_S"
        stop.set()
        statuses = await load
        events = await asyncio.wait_for(watch, STEP_TIMEOUT_S)
        assert code == 0, generator.log.read_text()[-2000:]
        assert set(statuses) <= ALLOWED_UNARY, statuses
        assert statuses[200] > 0
        _stream_ended_acceptably(events)

        # Rows on disk: every item still active, with its prediction id (the wait was recorded,
        # the item was not failed or cancelled by the shutdown).
        with contextlib.closing(sqlite3.connect(data_dir / "generator.db")) as db:
            rows = db.execute(
                "SELECT state, prediction_id, input, outputs FROM generator_items"
            ).fetchall()
        assert len(rows) == 6
        for state, prediction_id, model_input, outputs in rows:
            json.loads(model_input), json.loads(outputs)
            assert state in ACTIVE_ITEM_STATES, (state, prediction_id)
            assert prediction_id in unfinished, (state, prediction_id)

        # The next start resumes by lookup: every job finishes, nothing is created again.
        reconnect = await _back_in_service(http, f"{url}/api/jobs", generator)

        async def all_done() -> list[dict[str, Any]] | None:
            states = [await _get_json(http, f"{url}/api/jobs/{j}") for j in jobs]
            return states if all(s["state"] in TERMINAL_JOB for s in states) else None

        finals = await wait_until(
            all_done, timeout_s=PREDICTION_LATENCY_S + 60, what="the resumed jobs"
        )
    assert [job["state"] for job in finals] == ["JOB_STATE_SUCCEEDED"] * 3, finals
    assert replicate.creates == 6
    assert replicate.cancels == 0  # a drain leaves the paid predictions running
    print(f"\ngenerator drained in {took:.2f} s; calls: {dict(statuses)}; 503s {reconnect:.2f} s")


@pytest.mark.timeout(120)
async def test_composer_sigterm_mid_render_then_resume(
    data_dir: Path, start_stack: StartStack, replicate: FakeReplicate
) -> None:
    clip = f"{replicate.base_url}/files/clip.mp4"
    request = {
        "clips": [{"source": clip, "targetDurationSeconds": 4} for _ in range(6)],
        "holdLastFrame": True,
        "height": 960,
        "fps": 24,
    }
    # A short grace and one FFmpeg thread: the render outlasts the drain, so the restart must redo it.
    slow_render = {"FFMPEG_THREADS": "1"}
    async with start_stack(1.0, **slow_render) as (services, url, http):
        async with http.post(f"{url}/api/composition/compose", json=request) as answer:
            composition = await answer.json()
            assert answer.status == 200, composition
        status_url = f"{url}/api/composition/status/{composition['id']}"

        async def composing() -> bool:
            state = (await _get_json(http, status_url))["state"]
            return bool(state == "COMPOSITION_STATE_COMPOSING")

        await wait_until(composing, timeout_s=STEP_TIMEOUT_S, what="the render to start")
        # Frozen from here to the exit: on a loaded machine the render once finished before the
        # SIGTERM. SIGKILL (the composer's cancel) still ends a stopped FFmpeg.
        freezing = asyncio.create_task(freeze_ffmpeg_under(data_dir))
        stop = asyncio.Event()
        watch, load = await _watched_under_load(
            http,
            f"{url}/api/composition/{composition['id']}/events",
            [status_url] * 4 + [f"{url}/api/compositions"],
            stop,
        )
        composer = services["composer"]
        started = time.monotonic()
        composer.terminate()
        code = await composer.exited(1.0 + EXIT_MARGIN_S)
        took = time.monotonic() - started
        freezing.cancel()
        stop.set()
        statuses = await load
        events = await asyncio.wait_for(watch, STEP_TIMEOUT_S)
        assert code == 0, composer.log.read_text()[-2000:]
        assert set(statuses) <= ALLOWED_UNARY, statuses
        _stream_ended_acceptably(events)

        with contextlib.closing(sqlite3.connect(data_dir / "composer.db")) as db:
            state, output_id = db.execute(
                "SELECT state, output_id FROM composer_compositions WHERE id = ?",
                (composition["id"],),
            ).fetchone()
        # Interrupted, not half-finished: still active and without an output. (A render that
        # finished before the SIGTERM would prove nothing: the render outlasts the drain.)
        active = ("PENDING", "DOWNLOADING", "COMPOSING", "OPTIMIZING")
        assert state in active and output_id is None, (state, output_id)

        await _back_in_service(http, f"{url}/api/compositions", composer)

        async def finished() -> dict[str, Any] | None:
            current = await _get_json(http, status_url)
            return current if current["state"] in (
                "COMPOSITION_STATE_COMPLETED", "COMPOSITION_STATE_FAILED"
            ) else None  # fmt: skip

        final = await wait_until(finished, timeout_s=90, what="the resumed render")
    assert final["state"] == "COMPOSITION_STATE_COMPLETED", final
    assert abs(final["durationSeconds"] - (6 * 4 - 5 * 0.5)) < 0.2
    print(f"\ncomposer stopped in {took:.2f} s (was {state}); calls: {dict(statuses)}")


@pytest.mark.timeout(120)
async def test_planner_and_gateway_sigterm_finish_calls_in_flight(
    start_stack: StartStack, openai: FakeOpenAI
) -> None:
    brief = {"messages": [{"role": "ROLE_USER", "content": "An ad for a bike lamp."}]}
    calls = 4
    async with start_stack() as (services, url, http):
        for target in ("planner", "gateway"):
            # Each call is held for a third of the grace: in flight at SIGTERM, done well within.
            openai.enqueue(*(slow(GRACE_S / 3) for _ in range(calls)))
            before = len(openai.requests)

            async def extract() -> int | str:
                try:
                    async with http.post(f"{url}/api/brief/extract", json=brief) as answer:
                        await answer.read()
                        return answer.status
                except aiohttp.ClientError as error:
                    return type(error).__name__

            in_flight = [asyncio.create_task(extract()) for _ in range(calls)]

            async def all_arrived(n: int = before) -> bool:
                return len(openai.requests) >= n + calls

            await wait_until(
                all_arrived, timeout_s=STEP_TIMEOUT_S, what="the calls to reach the LLM"
            )
            service = services[target]
            started = time.monotonic()
            service.terminate()
            code = await service.exited(GRACE_S + EXIT_MARGIN_S)
            took = time.monotonic() - started
            results = await asyncio.gather(*in_flight)
            assert code == 0, service.log.read_text()[-2000:]
            assert results == [200] * calls, (target, results)  # drained, not dropped
            print(f"\n{target} drained {calls} calls in {took:.2f} s")
            if target == "planner":
                late = await extract()
                assert late == 503, late  # the gateway says "unavailable", not 500
                reconnect = await _back_in_service(
                    http, f"{url}/api/brief/extract", service, post=True
                )
                print(f"gateway answered 503 for {reconnect:.2f} s after the planner was ready")


class _DrainingPlanner(ErrorPlanner):
    """Cancels every call, as a server does with calls caught by the start of its shutdown."""

    async def ExtractBrief(
        self, request: planner_pb2.ExtractBriefRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> planner_pb2.ExtractBriefResponse:
        await context.abort(grpc.StatusCode.CANCELLED, "server shutting down")


async def test_a_call_the_service_cancels_is_503_not_499(data_dir: Path) -> None:
    # Seen in the composer drain above about one run in four: a GetComposition that arrived as
    # the drain began came back CANCELLED, and the gateway answered 499 ("client closed").
    settings = ServiceSettings(host="127.0.0.1", port=0, data_dir=data_dir)
    servicer = _DrainingPlanner()
    host, port = await build_host(
        settings, [lambda s: planner_pb2_grpc.add_PlannerServiceServicer_to_server(servicer, s)], []
    )
    await host.start()
    address = f"127.0.0.1:{port}"
    app = create_app(
        GatewaySettings(
            planner_address=address, generator_address=address, composer_address=address,
            data_dir=data_dir,
        )
    )  # fmt: skip
    try:
        async with TestClient(TestServer(app)) as client:
            answer = await client.post("/api/brief/extract", json={})
            assert answer.status == 503, await answer.text()
            assert (await answer.json())["code"] == "CANCELLED"
    finally:
        await host.stop(0)
