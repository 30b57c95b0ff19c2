"""Ctrl-C on `reelforge ad` cancels the jobs it started, so nothing keeps running (or costing)."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from reelforge.cli.stack import StackPorts, local_stack
from tests.e2e.test_hosted_ad import hosted_env
from tests.e2e.test_offline_ad import write_brief
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import ROOT


async def wait_for_running_job(gateway: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{gateway}/api/jobs") as response:
                jobs = (await response.json())["jobs"]
            running = [j["id"] for j in jobs if j["state"] == "JOB_STATE_RUNNING"]
            if running:
                return str(running[0])
            await asyncio.sleep(0.1)
    raise AssertionError("no job started running")


async def job_state(gateway: str, job_id: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway}/api/jobs/{job_id}") as r:
        return str((await r.json())["state"])


@pytest.mark.timeout(300)
async def test_ctrl_c_cancels_running_jobs(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    brief = tmp_path / "brief.yaml"
    write_brief(brief, 12.0)
    # Predictions that take a minute: the first job is certainly still running at Ctrl-C.
    async with FakeOpenAI() as openai, FakeReplicate(latency_s=60) as replicate:
        env = hosted_env(subprocess_env, openai, replicate)
        async with local_stack(StackPorts.free(), env, quiet=True, cwd=tmp_path) as stack:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "reelforge.cli.main", "--gateway", stack.gateway_url,
                "ad", str(brief), "-o", str(tmp_path / "ad.mp4"),
                cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            job_id = await wait_for_running_job(stack.gateway_url)
            proc.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 130, stderr.decode()[-2000:]
            assert "interrupted" in stderr.decode()
            assert await job_state(stack.gateway_url, job_id) == "JOB_STATE_CANCELED"
        assert replicate.cancels >= 1  # the provider was told to stop the paid prediction
