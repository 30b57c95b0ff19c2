"""The `reelforge` command against a slow or misbehaving gateway: one line, non-zero exit, no traceback.

Each test runs the real command (``python -m reelforge.cli.main``) against a local
aiohttp server playing the gateway, and reads what a user would see on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.e2e.helpers import start_cli
from tests.helpers import ROOT

# The command needs a second or two to start; this bounds a run that should end by itself.
_RUN_LIMIT_S = 60
_BRIEF = str(ROOT / "examples" / "brief.yaml")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Run:
    code: int
    stderr: str
    stdout: str = ""


@contextlib.asynccontextmanager
async def _gateway(handler: _Handler) -> AsyncIterator[str]:
    """A stand-in gateway answering every request with ``handler``; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    # A short shutdown: cleanup cancels a handler still hanging.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _reelforge(*args: str, env: dict[str, str] | None = None) -> Run:
    proc = await start_cli(*args, env={**os.environ, **(env or {})})
    stdout, stderr = await asyncio.wait_for(proc.communicate(), _RUN_LIMIT_S)
    return Run(proc.returncode or 0, stderr.decode(), stdout.decode())


async def _hang(request: web.Request) -> web.Response:
    await asyncio.sleep(_RUN_LIMIT_S)  # cancelled when the stand-in gateway closes
    return web.json_response({})


def _assert_one_line(run: Run) -> str:
    assert run.code == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


async def test_a_gateway_slower_than_the_timeout_flag_is_one_line() -> None:
    async with _gateway(_hang) as url:
        run = await _reelforge("--gateway", url, "--timeout", "0.5", "moods", _BRIEF)
    line = _assert_one_line(run)
    assert line == (
        "reelforge: POST /api/moods/generate: no answer from the gateway within 0.5 s "
        "(raise it with --timeout or REELFORGE_TIMEOUT_S)"
    )


async def test_the_timeout_comes_from_the_environment_too() -> None:
    async with _gateway(_hang) as url:
        run = await _reelforge("--gateway", url, "plan", _BRIEF, env={"REELFORGE_TIMEOUT_S": "0.5"})
    assert "POST /api/scenes/plan: no answer from the gateway within 0.5 s" in _assert_one_line(run)


async def test_ad_with_a_slow_studio_is_one_line() -> None:
    async with _gateway(_hang) as url:
        run = await _reelforge(
            "--gateway", url, "--timeout", "0.5", "ad", _BRIEF, "--mood", "1", "-o", "/dev/null"
        )
    assert "POST /api/ads: no answer from the gateway within 0.5 s" in _assert_one_line(run)


async def test_ad_asks_the_studio_for_a_mood_gate_only_to_choose_another_mood() -> None:
    sent: list[dict[str, Any]] = []

    async def unavailable(request: web.Request) -> web.Response:
        sent.append(await request.json())
        return web.json_response({"code": "UNAVAILABLE", "message": "studio down"}, status=503)

    render = ["--height", "320", "--fps", "12", "--transition", "0.25", "--duration", "9"]
    async with _gateway(unavailable) as url:
        for mood in ([], ["--mood", "1"], ["--mood", "2"]):
            run = await _reelforge("--gateway", url, "ad", _BRIEF, *mood, *render)
            assert _assert_one_line(run) == "reelforge: POST /api/ads: HTTP 503: studio down"
    first, second, third = sent
    # Not on a TTY and no --mood, or mood 1: the studio takes the first mood by itself.
    assert "gateMood" not in first["options"] and "gateMood" not in second["options"]
    assert third["options"]["gateMood"] is True
    assert third["options"]["render"] == {"height": 320, "fps": 12, "transitionSeconds": 0.25}
    assert third["options"]["durationSeconds"] == 9
    assert third["brief"]["productName"] == "Lumen Bottle"
    # A fresh idempotency key per command: a replay of one call, never of another ad.
    keys = {body["requestId"] for body in sent}
    assert len(keys) == 3 and all(len(key) == 32 for key in keys)


async def test_jobs_watch_prints_each_snapshot_and_stops_at_the_end_event() -> None:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for n, (state, percent) in enumerate([("RUNNING", 50), ("SUCCEEDED", 100)], 1):
            data = json.dumps({"id": "j1", "state": f"JOB_STATE_{state}", "percent": percent})
            await response.write(f"id: {n}\ndata: {data}\n\n".encode())
        await response.write(b": heartbeat\n\nevent: end\ndata: {}\n\n")
        return response

    async with _gateway(events) as url:
        run = await _reelforge("--gateway", url, "jobs", "watch", "j1")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [json.loads(line) for line in lines[:2]] == [
        {"state": "JOB_STATE_RUNNING", "percent": 50},
        {"state": "JOB_STATE_SUCCEEDED", "percent": 100},
    ]
    # Then the last snapshot itself (the end event's empty data is no snapshot).
    assert json.loads("\n".join(lines[2:]))["state"] == "JOB_STATE_SUCCEEDED"


async def test_a_gateway_error_is_one_line_with_its_status() -> None:
    async def deadline(request: web.Request) -> web.Response:
        body = {"code": "DEADLINE_EXCEEDED", "message": "the model did not finish\nin time"}
        return web.json_response(body, status=504)

    async with _gateway(deadline) as url:
        run = await _reelforge("--gateway", url, "moods", _BRIEF)
    assert _assert_one_line(run) == (
        "reelforge: POST /api/moods/generate: HTTP 504: the model did not finish in time"
    )


async def test_an_answer_that_is_not_a_json_object_is_one_line() -> None:
    async def a_list(request: web.Request) -> web.Response:
        return web.json_response([1, 2, 3])

    async with _gateway(a_list) as url:
        run = await _reelforge("--gateway", url, "moods", _BRIEF)
    assert _assert_one_line(run).startswith("reelforge: POST /api/moods/generate: ")


async def test_a_bad_timeout_value_is_refused_by_name() -> None:
    run = await _reelforge("--timeout", "-3", "moods", _BRIEF)
    assert run.code == 2 and "Traceback" not in run.stderr
    assert "--timeout: must be seconds" in run.stderr
