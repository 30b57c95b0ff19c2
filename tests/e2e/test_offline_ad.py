"""The main command's path at tiny size: `reelforge ad --start-stack` renders an offline ad."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reelforge.runtime.media import probe
from tests.composer.media import subtitle_cues
from tests.e2e.helpers import write_brief

TINY = {"ANIMATIC_DRAFT_HEIGHT": "320", "ANIMATIC_FPS": "12", "ENVIRONMENT": "development"}


@pytest.mark.timeout(600)
def test_offline_ad_has_the_briefs_duration(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    brief = tmp_path / "brief.yaml"
    write_brief(brief, 12.0)
    out = tmp_path / "out" / "ad.mp4"
    env = {**subprocess_env, **TINY}
    env.pop("OPENAI_API_KEY", None)
    env.pop("REPLICATE_API_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "reelforge.cli.main", "ad", str(brief), "-o", str(out),
         "--start-stack", "--height", "320", "--fps", "12", "--json"],
        cwd=tmp_path, env=env, capture_output=True, timeout=540,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    info = asyncio.run(probe(out))
    assert abs(info.duration_seconds - 12.0) <= 1 / 12 + 1e-3
    assert (info.width, info.height) == (180, 320)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (tmp_path / "out" / "storyboard.png").stat().st_size > 0
    # Voice and captions by default: the voice-over's subtitle files beside the MP4.
    summary = json.loads(done.stdout)
    assert summary["subtitles"] == [str(out.with_suffix(".srt")), str(out.with_suffix(".vtt"))]
    assert subtitle_cues(out.with_suffix(".srt"))
