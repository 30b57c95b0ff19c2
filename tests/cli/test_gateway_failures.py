"""The `reelforge` command against a slow or misbehaving gateway: one line, non-zero exit, no traceback.

Each test runs the real command (``python -m reelforge.cli.main``) against a local
aiohttp server playing the gateway, and reads what a user would see on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from tests.helpers import ROOT

# The command needs a second or two to start; this bounds a run that should end by itself.
_RUN_LIMIT_S = 60
_BRIEF = str(ROOT / "examples" / "brief.yaml")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Run:
    code: int
    stderr: str


@contextlib.asynccontextmanager
async def _gateway(handler: _Handler) -> AsyncIterator[str]:
    """A stand-in gateway answering every POST with ``handler``; yields its base URL."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
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
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reelforge.cli.main",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), _RUN_LIMIT_S)
    return Run(proc.returncode or 0, stderr.decode())


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


async def test_ad_with_a_slow_planner_is_one_line() -> None:
    async with _gateway(_hang) as url:
        run = await _reelforge(
            "--gateway", url, "--timeout", "0.5", "ad", _BRIEF, "--mood", "1", "-o", "/dev/null"
        )
    assert "no answer from the gateway within 0.5 s" in _assert_one_line(run)


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
