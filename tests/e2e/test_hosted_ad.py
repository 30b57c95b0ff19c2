"""`reelforge ad` on the hosted path (planner on the fake OpenAI, generator on the fake Replicate):
the studio makes the ad, the CLI follows it and downloads it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from reelforge.runtime.media import probe
from tests.e2e.helpers import get_json, hosted_stack, start_cli, write_brief


@pytest.mark.timeout(600)
async def test_hosted_ad_has_the_same_shape_and_a_cost_summary(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    brief = write_brief(tmp_path / "brief.yaml", 12.0)
    out = tmp_path / "out" / "ad.mp4"
    async with hosted_stack(tmp_path, subprocess_env, latency_s=0.3, predict_time_s=2.0) as stack:
        proc = await start_cli(
            "--gateway", stack.gateway,
            "ad", str(brief), "-o", str(out), "--height", "320", "--fps", "12", "--json",
            env=stack.env,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 540)
        assert proc.returncode == 0, stderr.decode()[-3000:]
        summary = json.loads(stdout)
        ad = await get_json(stack.gateway, f"/api/ads/{summary['ad_id']}")
    scenes = len(summary["scenes"])
    # Paid once each: a sample per mood, a seed image, a clip and a voice line per scene, one track.
    assert all(s["scene"]["voiceLine"] for s in ad["storyboard"])
    assert stack.replicate.creates == 3 + 3 * scenes + 1
    assert any(r.schema is not None for r in stack.openai.requests)
    info = await probe(out)
    assert abs(info.duration_seconds - 12.0) <= 1 / 12 + 1e-3
    assert (info.width, info.height) == (180, 320)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert summary["estimated_cost_micros"] > 0 and summary["actual_cost_micros"] > 0
    # What was downloaded is the studio's ad: its render, its storyboard, its costs.
    assert ad["state"] == "AD_STATE_COMPLETED"
    assert summary["composition_id"] == ad["renders"][-1]["compositionId"]
    assert [s["description"] for s in summary["scenes"]] == [
        s["scene"]["description"] for s in ad["storyboard"]
    ]
    assert summary["actual_cost_micros"] == int(ad["actualCostMicros"])
