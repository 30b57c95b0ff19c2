"""Animatic music: exact-length AAC, faded at both ends, deterministic, tempo from the mood."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np
import pytest
from numpy.typing import NDArray

from reelforge.runtime.media import probe
from services.generator.animatic import plan_music, render_music, synthesize_pcm
from services.generator.animatic.music import mood_of
from tests.animatic.helpers import decode_audio, entries, ffmpeg_children, leftovers

P = ParamSpec("P")
T = TypeVar("T")

SR = 44100


def _rms(x: NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize(
    ("prompt", "duration"),
    [("upbeat energetic synth pop", 2.5), ("calm luxury spa", 4.2), ("dark dramatic", 3.05)],
)
async def test_exact_length_aac(tmp_path: Path, prompt: str, duration: float) -> None:
    dest = tmp_path / "music.m4a"
    await render_music(prompt=prompt, duration_s=duration, seed=4, dest=dest)
    info = await probe(dest)
    assert abs(info.duration_seconds - duration) <= 0.05
    assert info.audio_codec == "aac"
    assert not info.has_video
    samples = await decode_audio(dest)
    assert abs(samples.shape[0] / SR - duration) <= 0.05
    assert leftovers(tmp_path) == []


async def test_fades_in_and_out(tmp_path: Path) -> None:
    dest = tmp_path / "music.m4a"
    await render_music(prompt="upbeat energetic synth pop", duration_s=4.0, seed=1, dest=dest)
    samples = await decode_audio(dest)
    n, edge = samples.shape[0], int(0.08 * SR)
    middle = _rms(samples[n // 2 - SR // 2 : n // 2 + SR // 2])
    assert middle > 0.05
    assert _rms(samples[:edge]) < 0.3 * middle
    assert _rms(samples[-edge:]) < 0.3 * middle
    assert np.max(np.abs(samples)) <= 1.0  # Normalised to -1 dBFS: no clipping.


def test_pcm_is_deterministic_and_normalised() -> None:
    a = synthesize_pcm(prompt="calm luxury", duration_s=2.0, seed=9)
    b = synthesize_pcm(prompt="calm luxury", duration_s=2.0, seed=9)
    assert a.shape == (2 * SR, 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert float(np.max(np.abs(a))) == pytest.approx(10 ** (-1 / 20), abs=1e-4)
    assert not np.array_equal(a, synthesize_pcm(prompt="calm luxury", duration_s=2.0, seed=10))
    assert not np.array_equal(a, synthesize_pcm(prompt="dark drama", duration_s=2.0, seed=9))
    # Seed 0 derives from the prompt: deterministic as well.
    zero = synthesize_pcm(prompt="calm luxury", duration_s=1.0, seed=0)
    assert np.array_equal(zero, synthesize_pcm(prompt="calm luxury", duration_s=1.0, seed=0))


async def test_encoded_file_is_deterministic(tmp_path: Path) -> None:
    for name in ("a.m4a", "b.m4a"):
        await render_music(prompt="warm acoustic", duration_s=1.5, seed=2, dest=tmp_path / name)
    assert (tmp_path / "a.m4a").read_bytes() == (tmp_path / "b.m4a").read_bytes()


def test_mood_sets_tempo_and_mode() -> None:
    for seed in range(0, 30):
        energetic = plan_music("energetic upbeat sneaker launch", seed)
        calm = plan_music("calm luxury skincare", seed)
        dark = plan_music("dark dramatic thriller trailer", seed)
        neutral = plan_music("a family breakfast", seed)
        assert energetic.tempo_bpm > neutral.tempo_bpm > dark.tempo_bpm > calm.tempo_bpm
        assert (energetic.mode, calm.mode, dark.mode, neutral.mode) == (
            "major",
            "major",
            "minor",
            "major",
        )
        assert 120 <= energetic.tempo_bpm <= 132 and 68 <= calm.tempo_bpm <= 80


def test_mood_words_and_explicit_overrides() -> None:
    assert mood_of("Upbeat, FUN summer party") == "energetic"
    assert mood_of("serene, elegant and luxurious") == "calm"
    assert mood_of("moody cinematic noir") == "dark"
    assert mood_of("product demo") == "neutral"
    plan = plan_music("upbeat synth pop, 100 bpm in F# minor", 1)
    assert plan.tempo_bpm == 100
    assert (plan.tonic, plan.mode) == (6, "minor")
    assert plan_music("calm piano in key of Bb major", 3).key_name == "Bb major"
    # Only "in X minor" / "key of X minor" name a key: "a minor league" does not.
    assert all(
        plan_music("energetic anthem for a minor league", s).mode == "major" for s in range(20)
    )
    assert plan_music("dark drama in A major", 1).mode == "major"


# Only a deadline for the loop to serve one callback (fails instead of hanging), not a bound.
LOOP_DEADLINE_S = 30.0


class _LoopCheckingExecutor(ThreadPoolExecutor):
    """Starts each job only once the event loop has served a callback from the worker thread:
    a caller blocking the loop on the job (or doing it on the loop) never gets it done."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(max_workers=1)
        self.loop = loop
        self.jobs = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.jobs += 1

        def checked() -> T:
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(LOOP_DEADLINE_S)
            return fn(*args, **kwargs)

        return super().submit(checked)


async def test_render_music_keeps_the_event_loop_responsive(tmp_path: Path) -> None:
    # Counters, not wall-clock gaps: synthesis must run off the loop (in the executor, while the
    # loop serves callbacks), and the loop must keep running while FFmpeg encodes.
    ticks_while_encoding = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks_while_encoding
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks_while_encoding += bool(ffmpeg_children())

    executor = _LoopCheckingExecutor(asyncio.get_running_loop())
    tick = asyncio.create_task(ticker())
    try:
        await render_music(
            prompt="energetic", duration_s=12.0, seed=1, dest=tmp_path / "m.m4a", executor=executor
        )
    finally:
        stop.set()
        await tick
        executor.shutdown()
    assert executor.jobs == 1, "synthesis did not go through the executor"
    assert ticks_while_encoding > 0, "the event loop did not run while FFmpeg encoded"


async def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        await render_music(prompt="x", duration_s=0, seed=1, dest=tmp_path / "m.m4a")
    with pytest.raises(ValueError):
        synthesize_pcm(prompt="x", duration_s=1, seed=1, sample_rate=100)
    assert entries(tmp_path) == []
