"""Animatic clips: exact-length H.264 Ken Burns moves; FFmpeg never outlives a cancelled call."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelforge.runtime.media import probe
from services.generator.animatic import RenderError, render_clip, render_image
from services.generator.animatic.clips import Motion, motion_from_text, plan_motion
from tests.animatic.helpers import (
    count_frames,
    decode_gray_frames,
    entries,
    ffmpeg_children,
    leftovers,
)

W, H = 180, 320
START_DEADLINE_S = 30.0  # a deadline for FFmpeg to start (fails instead of hanging), not a bound


@pytest.fixture
def still(tmp_path: Path) -> Path:
    dest = tmp_path / "still.png"
    render_image(
        prompt="A red sneaker on wet asphalt",
        caption="Run the night.",
        palette=["#E63946", "#1D3557", "#F1FAEE", "#2A9D8F"],
        width=W,
        height=H,
        seed=3,
        dest=dest,
    )
    return dest


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("duration", "fps", "motion"),
    [(0.5, 24, "push in"), (1.0, 12, "pan left"), (1.37, 24, ""), (1.37, 20, "tilt down")],
)
async def test_exact_length_h264_faststart_without_audio(
    still: Path, out_dir: Path, duration: float, fps: int, motion: str
) -> None:
    dest = out_dir / "clip.mp4"
    await render_clip(
        image=still, duration_s=duration, width=W, height=H, fps=fps, seed=5, dest=dest,
        motion=motion,
    )  # fmt: skip
    info = await probe(dest)
    assert abs(info.duration_seconds - duration) <= 1 / fps + 1e-6
    assert await count_frames(dest) == round(duration * fps)
    assert info.video_codec == "h264"
    assert info.pixel_format == "yuv420p"
    assert (info.width, info.height) == (W, H)
    assert info.fps == pytest.approx(fps)
    assert not info.has_audio
    data = dest.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat"), "moov must precede mdat (+faststart)"
    assert leftovers(out_dir) == []


async def test_a_still_of_another_shape_is_cropped_to_fill(tmp_path: Path, out_dir: Path) -> None:
    square = tmp_path / "square.png"
    render_image(
        prompt="square", caption="", palette=[], width=300, height=300, seed=1, dest=square
    )
    dest = out_dir / "clip.mp4"
    await render_clip(image=square, duration_s=0.5, width=W, height=H, fps=12, seed=2, dest=dest)
    info = await probe(dest)
    assert (info.width, info.height) == (W, H)


@pytest.mark.parametrize("motion", ["push in", "pull out", "pan left", "pan right", "tilt up"])
async def test_the_camera_moves(still: Path, out_dir: Path, motion: str) -> None:
    dest = out_dir / "clip.mp4"
    await render_clip(
        image=still, duration_s=1.0, width=W, height=H, fps=12, seed=1, dest=dest, motion=motion
    )
    frames = (await decode_gray_frames(dest, W, H)).astype(np.int16)
    assert frames.shape[0] == 12
    first_to_last = np.mean(np.abs(frames[0] - frames[-1]))
    steps = [np.mean(np.abs(a - b)) for a, b in itertools.pairwise(frames)]
    assert first_to_last > 2.0, "no visible motion"
    # Steady, not a jump: no single step carries most of the move.
    assert max(steps) < 0.5 * first_to_last


# A scene's motion hint → the camera move it names (None: it names none).
_HINTS = {
    "slow push-in": Motion.PUSH_IN,
    "Zoom_In on the product": Motion.PUSH_IN,
    "pull back to reveal": Motion.PULL_OUT,
    "camera pans to the left": Motion.PAN_LEFT,
    "truck right": Motion.PAN_RIGHT,
    "tilt up to the sky": Motion.PAN_UP,
    "crane down": Motion.PAN_DOWN,
    "pan left, then push in": Motion.PAN_LEFT,
    "orbit": None,
    "": None,
}


@pytest.mark.parametrize(("hint", "expected"), _HINTS.items())
def test_motion_hint_is_read(hint: str, expected: Motion | None) -> None:
    assert motion_from_text(hint) is expected
    if expected is not None:
        assert plan_motion(hint, seed=123).motion is expected


def test_without_a_hint_the_seed_picks_the_move() -> None:
    assert plan_motion("", 42, "img") == plan_motion("", 42, "img")
    moves = {plan_motion("", seed, "img").motion for seed in range(1, 40)}
    assert len(moves) >= 4
    # Seed 0 still decides from the image.
    assert plan_motion("", 0, "a") == plan_motion("", 0, "a")
    assert len({plan_motion("", 0, f"image-{i}").motion for i in range(40)}) >= 4


def test_moves_stay_within_the_caption_safe_zoom() -> None:
    for seed in range(60):
        plan = plan_motion("", seed, "img")
        assert min(plan.zoom_start, plan.zoom_end) >= 1.0
        assert max(plan.zoom_start, plan.zoom_end) <= 1.2
        for v in (plan.x_start, plan.x_end, plan.y_start, plan.y_end):
            assert 0.0 <= v <= 1.0


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[asyncio.subprocess.Process]]:
    """Records every subprocess the renderer starts."""
    procs: list[asyncio.subprocess.Process] = []
    real = asyncio.create_subprocess_exec

    async def recording(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        proc = await real(*args, **kwargs)
        procs.append(proc)
        return proc

    monkeypatch.setattr(asyncio, "create_subprocess_exec", recording)
    yield procs


async def test_cancel_kills_ffmpeg_and_leaves_no_file(
    still: Path, out_dir: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    dest = out_dir / "long.mp4"
    task = asyncio.create_task(
        render_clip(image=still, duration_s=120, width=W, height=H, fps=24, seed=1, dest=dest)
    )
    deadline = time.monotonic() + START_DEADLINE_S
    while not (spawned and entries(out_dir)):  # until FFmpeg has started and written something
        assert time.monotonic() < deadline and not task.done(), "ffmpeg did not start"
        await asyncio.sleep(0.05)
    assert not task.done(), "a 120 s clip finished too soon to be cancelled"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (proc,) = spawned
    assert proc.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    assert ffmpeg_children() == []
    assert not dest.exists()
    assert entries(out_dir) == []


async def test_ffmpeg_failure_is_a_render_error(tmp_path: Path, out_dir: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    dest = out_dir / "clip.mp4"
    with pytest.raises(RenderError, match=r"FFmpeg failed: .+"):
        await render_clip(image=junk, duration_s=0.5, width=W, height=H, fps=12, seed=1, dest=dest)
    assert entries(out_dir) == []
    with pytest.raises(RenderError, match="cannot read image"):
        await render_clip(
            image=tmp_path / "missing.png", duration_s=0.5, width=W, height=H, fps=12, seed=1,
            dest=dest,
        )  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [{"width": 181}, {"height": 0}, {"fps": 0}, {"duration_s": 0.0}, {"duration_s": float("nan")}],
)
async def test_bad_arguments_are_refused(still: Path, out_dir: Path, bad: dict[str, Any]) -> None:
    args: dict[str, Any] = {"duration_s": 0.5, "width": W, "height": H, "fps": 12, "seed": 1}
    with pytest.raises(ValueError):
        await render_clip(image=still, dest=out_dir / "clip.mp4", **{**args, **bad})
