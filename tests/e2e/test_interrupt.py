"""Ctrl-C on `reelforge ad` cancels the ad in the studio, and with it the jobs it started, so
nothing keeps running (or costing)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.e2e.helpers import get_json, hosted_stack, start_cli, wait_for_running_job, write_brief

_UNFINISHED = {"JOB_STATE_PENDING", "JOB_STATE_RUNNING"}

# From Ctrl-C to the CLI's exit: CancelAd stops the studio's run, then cancels each job, whose
# predictions the generator cancels at the provider. A deadline, not a pass bound.
STOP_BOUND_S = 60.0


@pytest.mark.timeout(480)
async def test_ctrl_c_cancels_the_ad_and_its_jobs(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    brief = write_brief(tmp_path / "brief.yaml", 12.0)
    # Predictions that take a minute: the first job is certainly still running at Ctrl-C.
    async with hosted_stack(tmp_path, subprocess_env, latency_s=60) as stack:
        gateway = stack.gateway
        proc = await start_cli(
            "--gateway", gateway, "ad", str(brief), "-o", str(tmp_path / "ad.mp4"), env=stack.env
        )
        await wait_for_running_job(gateway, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), STOP_BOUND_S)
        assert proc.returncode == 130, stderr.decode()[-2000:]
        assert "interrupted" in stderr.decode()
        (ad,) = (await get_json(gateway, "/api/ads"))["ads"]
        assert ad["state"] == "AD_STATE_CANCELED"
        assert f"ad {ad['id']} canceled" in stderr.decode()
        jobs = (await get_json(gateway, "/api/jobs"))["jobs"]
        assert jobs and not [j for j in jobs if j["state"] in _UNFINISHED], jobs
        assert {j["id"] for j in jobs} <= {i for s in ad["steps"] for i in s["jobIds"]}
    assert stack.replicate.cancels >= 1  # the provider was told to stop the paid prediction
