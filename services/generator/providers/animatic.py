"""The offline animatic provider: Pillow frames, FFmpeg Ken Burns clips, NumPy music, espeak-ng
voice-overs; no keys, no network.

Sizes per tier (width follows the aspect ratio): draft frames are ANIMATIC_DRAFT_HEIGHT
tall (default 720×1280 for 9:16), production ANIMATIC_PRODUCTION_HEIGHT (1080×1920).
Blocking renders run in a bounded thread pool, FFmpeg and espeak-ng renders under a
semaphore of the same size, so the event loop stays responsive and the CPU is not
oversubscribed. Voice-overs stay WAV (16-bit PCM): no encoder delay shifts the audio against
its word timings, and a line of speech is small (~45 kB/s at espeak-ng's 22.05 kHz).
"""

from __future__ import annotations

import asyncio
import importlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from reelforge.runtime.artifacts import ArtifactStore, is_artifact_id
from reelforge.runtime.encoding import DEFAULT_CROSSFADE_S, X264_CRF, X264_PRESET
from reelforge.v1 import common_pb2
from services.generator.catalog import Kind
from services.generator.outputs import OutputFetcher
from services.generator.providers.base import Rendered
from services.generator.records import TimedWord
from services.generator.settings import GeneratorSettings
from services.generator.voices import (
    OFFLINE_DEFAULT_VOICE,
    OFFLINE_WORDS_PER_MINUTE,
    offline_voice,
    offline_voices,
)

# Width:height per aspect ratio; sizes are rounded to even numbers (H.264 needs them).
_RATIOS: dict[int, tuple[int, int]] = {
    common_pb2.ASPECT_RATIO_9_16: (9, 16),
    common_pb2.ASPECT_RATIO_16_9: (16, 9),
    common_pb2.ASPECT_RATIO_1_1: (1, 1),
}


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def frame_size(tier: int, aspect: int, settings: GeneratorSettings) -> tuple[int, int]:
    """Pixels of a frame: the tier sets the long side's base (height for 9:16)."""
    base = (
        settings.animatic_production_height
        if tier == common_pb2.TIER_PRODUCTION
        else settings.animatic_draft_height
    )
    w, h = _RATIOS.get(aspect, (9, 16))
    short = base * min(w, h) / max(w, h)
    return (_even(short), _even(base)) if h >= w else (_even(base), _even(short))


def animatic_input(
    kind: Kind, spec: dict[str, Any], tier: int, aspect: int, settings: GeneratorSettings
) -> dict[str, Any]:
    """Everything a render depends on (it is also the cache key's input)."""
    if kind is Kind.VOICE:
        return voice_input(spec)
    width, height = frame_size(tier, aspect, settings)
    seed = int(spec.get("seed", 0))
    if kind is Kind.IMAGES:
        return {
            "prompt": spec["prompt"],
            "caption": spec.get("caption", ""),
            "palette": list(spec.get("color_palette", [])),
            "width": width,
            "height": height,
            "seed": seed,
            **_brand_files(spec),
        }
    if kind is Kind.CLIPS:
        return {
            "prompt": spec["prompt"],
            "image": spec.get("image", ""),
            "duration_s": float(spec["duration_seconds"]),
            "motion": spec.get("camera_motion", ""),
            "width": width,
            "height": height,
            "fps": settings.animatic_fps,
            "seed": seed,
            "x264": _clip_encode(tier),
        }
    return {"prompt": spec["prompt"], "duration_s": float(spec["duration_seconds"]), "seed": seed}


def _clip_encode(tier: int) -> tuple[str, int, float]:
    """(x264 preset, CRF, crossfade or 0) of a clip. Draft clips are *ready*: encoded as the
    composer's draft pieces, with GOPs for the default crossfade (reelforge/runtime/encoding.py),
    so a caption-free body is copied into the ad, not encoded again — at the cost of today's
    draft clip. Production clips stay veryfast: the composer's production preset (medium)
    costs 2.5× the CPU per clip (9.5 against 3.7 CPU-s for 5.9 s at 1080×1920), paid back only
    by bodies with no caption over them."""
    if tier == common_pb2.TIER_PRODUCTION:
        return "veryfast", 20, 0.0
    return X264_PRESET[common_pb2.TIER_DRAFT], X264_CRF[common_pb2.TIER_DRAFT], DEFAULT_CROSSFADE_S


def voice_input(spec: dict[str, Any]) -> dict[str, Any]:
    """The espeak-ng voice (validated by the servicer) and the rate the request's speed asks for."""
    voice = offline_voice(spec.get("voice", ""), spec.get("language", ""), offline_voices())
    speed = float(spec.get("speed") or 1.0)
    return {
        "text": spec["text"],
        "voice": voice or OFFLINE_DEFAULT_VOICE,
        "words_per_minute": round(OFFLINE_WORDS_PER_MINUTE * speed),
    }


def _brand_files(spec: dict[str, Any]) -> dict[str, str]:
    """The hero product photo (the first) and the logo, as artifact ids, only when given: the
    inputs, and so the cache keys, of frames without them stay what they were."""
    files = {"product": next(iter(spec.get("product_images") or ()), ""), "logo": spec.get("logo")}
    return {name: str(value) for name, value in files.items() if value}


def _renderer(name: str) -> ModuleType:
    # Imported on first use: the renderers are a separate package of this service.
    return importlib.import_module(f"services.generator.animatic.{name}")


class AnimaticProvider:
    """Renders synchronously inside the item run; outputs are local files."""

    name = "animatic"

    def __init__(
        self, settings: GeneratorSettings, store: ArtifactStore, fetcher: OutputFetcher
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._pool = ThreadPoolExecutor(settings.animatic_workers, thread_name_prefix="animatic")
        self._ffmpeg_slots = asyncio.Semaphore(settings.animatic_workers)

    async def render(self, kind: Kind, model_input: dict[str, Any], workdir: Path) -> Rendered:
        if kind is Kind.IMAGES:
            return Rendered([await self._image(model_input, workdir / "image.png")])
        if kind is Kind.CLIPS:
            return Rendered([await self._clip(model_input, workdir)])
        if kind is Kind.VOICE:
            return await self._voice(model_input, workdir / "voice.wav")
        return Rendered([await self._music(model_input, workdir / "music.m4a")])

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _in_pool(self, function: Any, **kwargs: Any) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, lambda: function(**kwargs))

    async def _image(self, values: dict[str, Any], dest: Path) -> Path:
        await self._in_pool(
            _renderer("images").render_image,
            prompt=values["prompt"],
            caption=values.get("caption", ""),
            palette=values.get("palette", []),
            width=values["width"],
            height=values["height"],
            seed=values["seed"],
            product=self._stored(values.get("product")),
            logo=self._stored(values.get("logo")),
            dest=dest,
        )
        return dest

    def _stored(self, artifact_id: str | None) -> Path | None:
        return self._store.path_for(artifact_id) if artifact_id else None

    async def _clip(self, values: dict[str, Any], workdir: Path) -> Path:
        # No seed image: paint one from the prompt first, then animate it.
        image = await self._seed_image(values, workdir)
        dest = workdir / "clip.mp4"
        async with self._ffmpeg_slots:
            await _renderer("clips").render_clip(
                image=image,
                duration_s=values["duration_s"],
                width=values["width"],
                height=values["height"],
                fps=values["fps"],
                seed=values["seed"],
                dest=dest,
                motion=values.get("motion", ""),
                preset=values["x264"][0],
                crf=values["x264"][1],
                ready_for_crossfade_s=values["x264"][2] or None,
            )
        return dest

    async def _seed_image(self, values: dict[str, Any], workdir: Path) -> Path:
        image = str(values.get("image", ""))
        if is_artifact_id(image):
            return self._store.path_for(image)
        if image:
            dest = workdir / "seed-image"
            await self._fetcher.download_to(image, dest)
            return dest
        still = {**values, "caption": "", "palette": []}
        return await self._image(still, workdir / "seed.png")

    async def _music(self, values: dict[str, Any], dest: Path) -> Path:
        # Synthesis in the pool, then FFmpeg as a subprocess a canceled item kills.
        async with self._ffmpeg_slots:
            await _renderer("music").render_music(
                prompt=values["prompt"],
                duration_s=values["duration_s"],
                seed=values["seed"],
                dest=dest,
                executor=self._pool,
            )
        return dest

    async def _voice(self, values: dict[str, Any], dest: Path) -> Rendered:
        # espeak-ng speaks in a child process a canceled item kills.
        async with self._ffmpeg_slots:
            speech = await _renderer("speech").speak(
                values["text"],
                dest,
                voice=values["voice"],
                words_per_minute=values["words_per_minute"],
            )
        words = [TimedWord(w.word, w.start_s, w.end_s) for w in speech.words]
        return Rendered([speech.wav], words)
