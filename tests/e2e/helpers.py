"""What the end-to-end tests share: a brief file, the hosted path's environment, the `reelforge`
command as a process, and REST reads of the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from reelforge.cli.stack import StackPorts, local_stack
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replicate_server import DEFAULT_TOKEN, FakeReplicate
from tests.helpers import ROOT


def write_brief(path: Path, duration_s: float) -> Path:
    """examples/brief.yaml at ``duration_s`` seconds, written to ``path``."""
    brief = yaml.safe_load((ROOT / "examples" / "brief.yaml").read_text())
    brief["duration_seconds"] = duration_s
    path.write_text(yaml.safe_dump(brief))
    return path


def hosted_env(
    base: dict[str, str], openai: FakeOpenAI, replicate: FakeReplicate
) -> dict[str, str]:
    return {
        **base,
        "PLANNER_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-test-fake",
        "OPENAI_BASE_URL": openai.base_url,
        "VIDEO_PROVIDER": "replicate",
        "REPLICATE_API_TOKEN": DEFAULT_TOKEN,
        "REPLICATE_BASE_URL": replicate.base_url,
        "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",  # the fake serves outputs on loopback
        "POLL_INITIAL_S": "0.1",
        "POLL_MAX_S": "0.3",
        "LOG_LEVEL": "WARNING",
    }


@dataclass(frozen=True)
class HostedStack:
    gateway: str
    env: dict[str, str]  # the services' environment, also right for the CLI
    openai: FakeOpenAI
    replicate: FakeReplicate


@contextlib.asynccontextmanager
async def hosted_stack(
    folder: Path, base_env: dict[str, str], **replicate: Any
) -> AsyncIterator[HostedStack]:
    """The five services as processes on the hosted path: the planner on the fake OpenAI, the
    generator on a fake Replicate made with ``replicate`` (its latency, ...)."""
    async with FakeOpenAI() as openai, FakeReplicate(**replicate) as fake:
        env = hosted_env(base_env, openai, fake)
        async with local_stack(StackPorts.free(), env, quiet=True, cwd=folder) as stack:
            yield HostedStack(stack.gateway_url, env, openai, fake)


async def start_cli(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """``python -m reelforge.cli.main ARGS`` with its stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reelforge.cli.main", *args,
        cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def get_json(gateway: str, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(gateway + path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


# From the CLI's start to the first paid prediction: the planner's chat, the studio and the
# generator all start up first, which takes tens of seconds on a loaded 2-core machine.
FIRST_JOB_BOUND_S = 150.0


async def wait_for_running_job(
    gateway: str,
    cli: asyncio.subprocess.Process | None = None,
    timeout_s: float = FIRST_JOB_BOUND_S,
) -> str:
    """The id of the first RUNNING job; fails at once, with its stderr, if ``cli`` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cli is not None and cli.returncode is not None:
            _, stderr = await cli.communicate()
            raise AssertionError(f"the CLI exited ({cli.returncode}): {stderr.decode()[-2000:]}")
        jobs = (await get_json(gateway, "/api/jobs"))["jobs"]
        running = [j["id"] for j in jobs if j["state"] == "JOB_STATE_RUNNING"]
        if running:
            return str(running[0])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no job started running within {timeout_s:.0f} s")
