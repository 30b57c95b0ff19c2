"""Animatic music: exact-length AAC, faded at both ends, deterministic, tempo from the mood."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from reelforge.runtime.media import probe
from services.generator.animatic import plan_music, render_music, synthesize_music, synthesize_pcm
from services.generator.animatic.music import mood_of
from tests.animatic.helpers import decode_audio, leftovers

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


def test_encoded_file_is_deterministic(tmp_path: Path) -> None:
    for name in ("a.m4a", "b.m4a"):
        synthesize_music(prompt="warm acoustic", duration_s=1.5, seed=2, dest=tmp_path / name)
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


async def test_render_music_keeps_the_event_loop_responsive(tmp_path: Path) -> None:
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    try:
        await render_music(prompt="energetic", duration_s=12.0, seed=1, dest=tmp_path / "m.m4a")
    finally:
        stop.set()
        await tick
    assert len(gaps) > 10
    assert max(gaps) < 0.5, f"event loop stalled for {max(gaps):.2f} s"


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        synthesize_music(prompt="x", duration_s=0, seed=1, dest=tmp_path / "m.m4a")
    with pytest.raises(ValueError):
        synthesize_pcm(prompt="x", duration_s=1, seed=1, sample_rate=100)
    assert list(tmp_path.iterdir()) == []
