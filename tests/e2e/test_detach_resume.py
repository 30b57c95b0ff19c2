"""`reelforge ad --detach`: Ctrl-C leaves the ad running in the studio and prints its id;
`reelforge ad --resume ID` re-attaches, follows it to the end and downloads it, paying nothing
twice."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from reelforge.runtime.media import probe
from tests.e2e.helpers import get_json, hosted_stack, start_cli, wait_for_running_job

TINY_RENDER = ("--height", "320", "--fps", "12")


# Long enough that the ad is certainly still running when the CLI lets go.
PREDICTION_S = 2.0


@pytest.mark.timeout(600)
async def test_detach_leaves_the_ad_running_and_resume_finishes_it(
    tmp_path: Path, subprocess_env: dict[str, str], short_brief: Path
) -> None:
    out = tmp_path / "out" / "ad.mp4"
    # Each prediction takes PREDICTION_S: the ad is still running when the CLI lets go.
    async with hosted_stack(tmp_path, subprocess_env, latency_s=PREDICTION_S) as stack:
        gateway, env = stack.gateway, stack.env
        proc = await start_cli(
            "--gateway", gateway, "ad", str(short_brief), "-o", str(out), *TINY_RENDER,
            "--detach", "--json", env=env,
        )  # fmt: skip
        job_id = await wait_for_running_job(gateway)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        detached = json.loads(stdout)
        assert detached.get("detached") is True, f"the ad ended before the Ctrl-C: {detached}"
        ad_id = detached["ad_id"]
        assert f"reelforge ad --resume {ad_id}" in stderr.decode()
        left = await get_json(gateway, f"/api/ads/{ad_id}")
        assert left["state"] == "AD_STATE_RUNNING"
        job = await get_json(gateway, f"/api/jobs/{job_id}")
        assert job["state"] != "JOB_STATE_CANCELED"

        resumed = await start_cli(
            "--gateway", gateway, "ad", "--resume", ad_id, "-o", str(out), "--json", env=env
        )
        stdout, stderr = await asyncio.wait_for(resumed.communicate(), 300)
        assert resumed.returncode == 0, stderr.decode()[-3000:]
        summary = json.loads(stdout)
        ad = await get_json(gateway, f"/api/ads/{ad_id}")
    assert summary["ad_id"] == ad_id and ad["state"] == "AD_STATE_COMPLETED"
    assert summary["composition_id"] == ad["renders"][-1]["compositionId"]
    # Paid once each, though two commands followed the ad: a sample per mood, a seed image, a
    # clip and a voice line per scene, one track.
    scenes = len(ad["storyboard"])
    assert all(s["scene"]["voiceLine"] for s in ad["storyboard"])
    assert stack.replicate.creates == len(ad["moods"]) + 3 * scenes + 1
    assert stack.replicate.cancels == 0
    info = await probe(out)
    assert abs(info.duration_seconds - 6.0) <= 1 / 12 + 1e-3
    assert (info.width, info.height) == (180, 320)
    assert (out.parent / "storyboard.png").stat().st_size > 0
