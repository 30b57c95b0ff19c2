"""Rendering compose requests as the composer service does, by pieces or in one pass, and
comparing the results (the segment path's tests: test_segments.py, test_ready_clips.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import common_pb2, composer_pb2
from services.composer.inputs import Fetcher
from services.composer.renderer import RenderContext, State, prepare, render
from services.composer.segment_cache import SegmentCache
from tests.composer.helpers import put

FPS = 24
CLIP_S = 1.0
TRANSITION_S = 0.25


class Quiet:
    async def phase(self, state: State, percent: float, message: str) -> None:
        return None

    def progress(self, percent: float, message: str) -> None:
        return None


def ffmpeg_stderr(*args: str) -> str:
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-y", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stderr


class Ads:
    """Renders requests the way the service does, with or without the segment cache."""

    def __init__(self, store: ArtifactStore, cache: SegmentCache, work: Path) -> None:
        self.store, self.cache, self._work, self._count = store, cache, work, 0

    async def render(self, request: composer_pb2.ComposeRequest, *, pieces: bool = True) -> Path:
        self._count += 1
        async with aiohttp.ClientSession() as session:
            fetcher = Fetcher(self.store, session, allow=[], max_bytes=1 << 30, attempts=1)
            context = RenderContext(
                fetcher,
                self.store,
                "development",
                timeout_s=300,
                segments=self.cache if pieces else None,
            )
            result = await render(request, context, Quiet(), self._work / str(self._count))
        return self.store.path_for(result.artifact.id)

    async def prepare(self, request: composer_pb2.ComposeRequest) -> composer_pb2.PreparedSegments:
        self._count += 1
        async with aiohttp.ClientSession() as session:
            fetcher = Fetcher(self.store, session, allow=[], max_bytes=1 << 30, attempts=1)
            context = RenderContext(fetcher, self.store, "development", 300, segments=self.cache)
            return await prepare(request, context, self._work / str(self._count))


async def compose_request(
    ads: Ads, clips: list[Path], **changes: Any
) -> composer_pb2.ComposeRequest:
    ids = [await put(ads.store, path) for path in clips]
    captions = ["Meet Lumen", "It cleans itself", "Get yours"]
    request = composer_pb2.ComposeRequest(
        clips=[
            composer_pb2.ClipInput(source=i, caption=c)
            for i, c in zip(ids[:3], captions, strict=True)
        ],
        music=ids[3],
        transition_seconds=TRANSITION_S,
        height=320,
        fps=FPS,
        tier=common_pb2.TIER_DRAFT,
    )
    for name, value in changes.items():
        setattr(request, name, value)
    return request


def ssim_per_frame(first: Path, second: Path) -> list[float]:
    """FFmpeg's ssim filter, one value per frame (its stats go to stdout)."""
    stats = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(first), "-i", str(second),
         "-lavfi", "[0:v][1:v]ssim=stats_file=-", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [float(value) for value in re.findall(r"^n:\d+ .*All:([\d.]+)", stats, re.M)]
