"""A fake Replicate HTTP API (aiohttp) faithful to shared/reference/replicate.md.

Serves ``/v1`` predictions (official-model and pinned-version creates, get, cancel,
cursor-paged list), moves predictions starting → processing → terminal on a
controllable schedule, fails on demand (401, 422, 429 with or without Retry-After,
500, lost create answers, content-policy failures, ``aborted``) or at random
(``chaos``: 429, 500, slow and lost answers at a rate, from a seeded generator), returns loopback
``http:`` outputs it serves itself (tiny real PNG/MP4/M4A made once per machine) or
``data:`` URIs, posts Standard-Webhooks-signed webhooks, and counts creates.

Speech models (``minimax/speech-2.6-*``) speak the input text with espeak-ng, one sentence at a
time, and answer as Replicate publishes the model: ``output`` is one audio URI (an MP3). With
``subtitle_enable`` the sentence timings are MiniMax's subtitle entries (``text``,
``time_begin``/``time_end`` in ms, ``text_begin``/``text_end``), printed to the prediction's
``logs`` — the published output schema has no room for them; that placement is assumed.

Like the real API it refuses to create a non-official model by name (422 "Invalid version
or not permitted"; ``GET /v1/models/{owner}/{name}`` gives its latest version), leaves
``input`` and ``webhook`` out of list items, and always refuses (422 with ``invalid_fields``)
input fields a model's published schema does not have, ``data:`` URIs over 256 KiB, and links
to uploaded files that do not exist. ``POST /v1/files`` takes multipart ``content``,
``filename``, ``type`` and ``metadata`` (anything else: 422; over ``file_limit_bytes``: 413)
and answers the file object (``urls.get`` is what an input carries); ``uploads`` are kept in
``files``. ``register_model()`` adds a model and its schema (a model a test adds to the
generator's catalog). Stricter modes, off by default (``strict()``
turns most on): list consistency delay, random timing with queueing and cold starts,
requested clip duration and size honoured (tiny), expiring outputs, duplicate and
out-of-order webhooks, a create rate limit with Replicate's 429 body, slow cancel, request
bodies validated against the models' published input schemas, ``Cancel-After`` deadlines,
and creates that never answer.

Run it alone: ``python -m tests.fakes.replicate_server --port 8787 --latency 2 [--strict]``.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import subprocess
import tempfile
import time
import wave
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

DEFAULT_TOKEN = "r8_fake_token"
CONTENT_POLICY_ERROR = (
    "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
)
_MEDIA_VERSION = "v1"
_VIDEO_WORDS = ("seedance", "hailuo", "video", "wan", "kling", "veo")
_AUDIO_WORDS = ("musicgen", "music", "audio")
_LIST_OUTPUT_MODELS = (
    "black-forest-labs/flux-schnell",
    "stability-ai/sdxl",
    "bytedance/seedream-4.5",
)


# ---- media -----------------------------------------------------------------------------------


def _ffmpeg(*args: str, dest: Path) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, str(dest)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def ensure_media(root: Path | None = None) -> dict[str, Path]:
    """Tiny real outputs (180×320 PNG, 1 s MP4, 1 s M4A), made once and reused by every run."""
    root = root or Path(tempfile.gettempdir()) / f"reelforge-fake-replicate-{_MEDIA_VERSION}"
    files = {"png": root / "image.png", "mp4": root / "clip.mp4", "m4a": root / "music.m4a"}
    if all(path.exists() for path in files.values()):
        return files
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root))
    Image.new("RGB", (180, 320), (40, 90, 200)).save(staging / "image.png")
    _ffmpeg("-f", "lavfi", "-i", "color=c=0x2850c8:s=180x320:r=10:d=1",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast", dest=staging / "clip.mp4")  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", "-b:a", "32k",
            dest=staging / "music.m4a")  # fmt: skip
    for key, path in files.items():
        os.replace(staging / path.name, path)  # atomic: concurrent makers race harmlessly
        del key
    with contextlib.suppress(OSError):
        staging.rmdir()
    return files


def _media_kind(model: str) -> str:
    name = model.lower()
    if model in SPEECH_MODELS:
        return "mp3"
    if any(word in name for word in _VIDEO_WORDS):
        return "mp4"
    if any(word in name for word in _AUDIO_WORDS):
        return "m4a"
    return "png"


_MIME = {"png": "image/png", "mp4": "video/mp4", "m4a": "audio/mp4", "mp3": "audio/mpeg"}
# Pixels of the long side of an honoured clip: the shape follows the request, the size stays tiny.
_TINY_LONG_SIDE = 32
_ASPECTS = {"9:16": (9, 16), "16:9": (16, 9), "1:1": (1, 1)}


def sized_clip(root: Path, duration_s: int, aspect: str) -> Path:
    """A tiny MP4 of the requested duration and aspect (made once per shape, reused)."""
    w_part, h_part = _ASPECTS.get(aspect, (9, 16))
    scale = _TINY_LONG_SIDE / max(w_part, h_part)
    width, height = (max(2, round(v * scale / 2) * 2) for v in (w_part, h_part))
    dest = root / f"clip-{width}x{height}-{duration_s}s.mp4"
    if not dest.exists():
        staging = Path(tempfile.mkdtemp(dir=root)) / dest.name
        _ffmpeg("-f", "lavfi", "-i", f"color=c=0x2850c8:s={width}x{height}:r=4:d={duration_s}",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast", dest=staging)  # fmt: skip
        os.replace(staging, dest)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()
    return dest


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_ESPEAK_WPM = 175  # espeak-ng's own default rate, at speed 1


@dataclass(frozen=True)
class SpokenText:
    """A speech model's answer: the MP3 and MiniMax's subtitle entries (one per sentence)."""

    audio: Path
    subtitles: list[dict[str, Any]]


def _sound_extent(wav: Path) -> tuple[float, tuple[float, float]]:
    """The WAV's length and the first and last instants louder than silence (≈ −50 dBFS)."""
    with wave.open(str(wav)) as audio:
        rate, samples = audio.getframerate(), array.array("h", audio.readframes(audio.getnframes()))
    loud = [i for i, sample in enumerate(samples) if abs(sample) > 100]
    length_s = len(samples) / rate
    return length_s, ((loud[0] / rate, (loud[-1] + 1) / rate) if loud else (0.0, length_s))


def speak_sentences(root: Path, text: str, speed: float) -> SpokenText:
    """The text spoken by espeak-ng sentence by sentence into one MP3, each sentence timed by
    its own WAV's length (made once per text and speed, reused)."""
    key = hashlib.sha256(f"{speed:g}|{text}".encode()).hexdigest()[:16]
    dest = root / f"speech-{key}.mp3"
    staging = Path(tempfile.mkdtemp(dir=root))
    subtitles, parts, at_s, searched = [], [], 0.0, 0
    for index, sentence in enumerate(s for s in _SENTENCE_END.split(text.strip()) if s):
        wav = staging / f"{index}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(round(_ESPEAK_WPM * speed)),
                        "-w", str(wav), "--", sentence], check=True, stdin=subprocess.DEVNULL)  # fmt: skip
        length_s, (sound_begin, sound_end) = _sound_extent(wav)
        begin = text.index(sentence, searched)
        searched = begin + len(sentence)
        # Like MiniMax's, a sentence's time is when it sounds, not its silent margins.
        subtitles.append({"text": sentence, "time_begin": round((at_s + sound_begin) * 1000, 1),
                          "time_end": round((at_s + sound_end) * 1000, 1),
                          "text_begin": begin, "text_end": searched})  # fmt: skip
        parts.append(wav)
        at_s += length_s
    if not dest.exists():
        listing = staging / "parts.txt"
        listing.write_text("".join(f"file '{part}'\n" for part in parts))
        _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c:a", "libmp3lame",
                "-b:a", "64k", dest=staging / dest.name)  # fmt: skip
        os.replace(staging / dest.name, dest)
    for leftover in staging.iterdir():
        leftover.unlink()
    staging.rmdir()
    return SpokenText(dest, subtitles)


# ---- published input schemas (the parts our models use) --------------------------------------

_STR, _INT, _NUM, _BOOL, _LIST = str, int, float, bool, list


@dataclass(frozen=True)
class Span:
    """A number (int or float) within [low, high], or with ``text`` a string of at most
    ``high`` characters."""

    low: float
    high: float
    text: bool = False


@dataclass(frozen=True)
class Refs:
    """A list of at most ``most`` image references (URLs or data: URIs)."""

    most: int


# minimax/speech-2.6-turbo and -hd (the same schema; output: one audio URI).
_SPEECH: dict[str, Any] = {
    "text": Span(1, 10_000, text=True), "voice_id": _STR, "speed": Span(0.5, 2), "volume": Span(0, 10),
    "pitch": (-12, 12), "english_normalization": _BOOL, "subtitle_enable": _BOOL,
    "emotion": ("auto", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "calm",
                "fluent", "neutral"),
    "sample_rate": (8000, 16000, 22050, 24000, 32000, 44100),
    "bitrate": (32000, 64000, 128000, 256000), "audio_format": ("mp3", "wav", "flac", "pcm"),
    "channel": ("mono", "stereo"),
    "language_boost": ("None", "Automatic", "Chinese", "Chinese,Yue", "Cantonese", "English",
        "Arabic", "Russian", "Spanish", "French", "Portuguese", "German", "Turkish", "Dutch",
        "Ukrainian", "Vietnamese", "Indonesian", "Japanese", "Italian", "Korean", "Thai", "Polish",
        "Romanian", "Greek", "Czech", "Finnish", "Hindi", "Bulgarian", "Danish", "Hebrew", "Malay",
        "Persian", "Slovak", "Swedish", "Croatian", "Filipino", "Hungarian", "Norwegian",
        "Slovenian", "Catalan", "Nynorsk", "Tamil", "Afrikaans"),
}  # fmt: skip
SPEECH_MODELS = ("minimax/speech-2.6-turbo", "minimax/speech-2.6-hd")
_SEEDANCE: dict[str, Any] = {
    "prompt": _STR, "image": _STR, "duration": (2, 12), "resolution": ("480p", "720p", "1080p"),
    "aspect_ratio": ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21"), "fps": (24, 24),
    "camera_fixed": _BOOL, "seed": _INT, "last_frame_image": _STR,
}  # fmt: skip
_NINE_SIXTEEN = ("16:9", "9:16", "1:1")
INPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "bytedance/seedance-1-lite": {**_SEEDANCE, "reference_images": Refs(4)},
    "bytedance/seedance-1-pro": _SEEDANCE,
    "bytedance/seedance-1-pro-fast": {k: v for k, v in _SEEDANCE.items() if k != "last_frame_image"},
    "bytedance/seedance-2.0": {
        **{k: v for k, v in _SEEDANCE.items() if k not in ("fps", "camera_fixed")},
        "duration": (-1, 15), "resolution": ("480p", "720p"), "reference_images": Refs(9),
    },
    "kwaivgi/kling-v2.5-turbo-pro": {
        "prompt": _STR, "negative_prompt": _STR, "start_image": _STR, "end_image": _STR,
        "duration": frozenset({5, 10}), "aspect_ratio": _NINE_SIXTEEN,
    },
    "wan-video/wan-2.7-i2v": {
        "prompt": _STR, "negative_prompt": _STR, "image": _STR, "last_image": _STR,
        "duration": (2, 15), "resolution": ("720p", "1080p"), "seed": _INT,
    },
    "minimax/hailuo-02": {
        "prompt": _STR, "duration": frozenset({6, 10}), "resolution": ("512P", "768P", "1080P"),
        "prompt_optimizer": _BOOL, "first_frame_image": _STR, "last_frame_image": _STR,
    },
    "google/veo-3.1-fast": {
        "prompt": _STR, "negative_prompt": _STR, "image": _STR, "last_frame": _STR,
        "reference_images": Refs(3), "duration": frozenset({4, 6, 8}), "resolution": ("720p", "1080p"),
        "aspect_ratio": ("16:9", "9:16"), "generate_audio": _BOOL, "seed": _INT,
    },
    "google/nano-banana": {
        "prompt": _STR, "image_input": _LIST, "aspect_ratio": _STR, "output_format": ("jpg", "png"),
    },
    "bytedance/seedream-4.5": {
        "prompt": _STR, "image_input": Refs(14), "size": ("1K", "2K", "4K", "custom"),
        "aspect_ratio": _STR, "width": _INT, "height": _INT, "seed": _INT,
        "sequential_image_generation": ("disabled", "auto"), "max_images": (1, 15),
    },
    "black-forest-labs/flux-schnell": {
        "prompt": _STR, "aspect_ratio": _STR, "num_outputs": (1, 4), "output_format": ("webp", "jpg", "png"),
        "seed": _INT, "go_fast": _BOOL, "megapixels": _STR, "output_quality": _INT,
    },
    "stability-ai/sdxl": {
        "prompt": _STR, "negative_prompt": _STR, "width": _INT, "height": _INT, "seed": _INT,
        "num_outputs": (1, 4), "num_inference_steps": _INT, "guidance_scale": _NUM,
    },
    "meta/musicgen": {
        "prompt": _STR, "duration": _INT, "seed": _INT, "input_audio": _STR,
        "model_version": ("stereo-melody-large", "stereo-large", "melody-large", "large"),
        "output_format": ("wav", "mp3"), "normalization_strategy": ("loudness", "clip", "peak", "rms"),
    },
    **{model: _SPEECH for model in SPEECH_MODELS},
}  # fmt: skip


def required_inputs(model: str) -> set[str]:
    return {"text"} if model in SPEECH_MODELS else {"prompt"}


def prompt_of(model_input: dict[str, Any]) -> str:
    """What failures and endings match on: the prompt, or a speech model's text."""
    return str(model_input.get("prompt", model_input.get("text", "")))


OFFICIAL_MODELS = frozenset(INPUT_SCHEMAS) - {"stability-ai/sdxl", "meta/musicgen"}
_BODY_FIELDS = {"input", "webhook", "webhook_events_filter", "stream"}
_WEBHOOK_EVENTS = {"start", "output", "logs", "completed"}
NOT_PERMITTED = (
    "The specified version does not exist (or perhaps you don't have permission to use it?)"
)


def _type_ok(value: Any, rule: Any) -> bool:
    if rule is bool:
        return isinstance(value, bool)
    if rule is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if rule is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(rule, type):
        return isinstance(value, rule)
    if isinstance(rule, Span) and rule.text:
        return isinstance(value, str) and rule.low <= len(value) <= rule.high
    if isinstance(rule, Refs):
        return isinstance(value, list) and 1 <= len(value) <= rule.most
    if isinstance(rule, Span):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and rule.low <= value <= rule.high
    if isinstance(rule, tuple) and len(rule) == 2 and all(type(v) is int for v in rule):
        low, high = rule
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    return value in rule


def validation_errors(
    model: str,
    body: dict[str, Any],
    *,
    versioned: bool,
    schema: dict[str, Any] | None = None,
    required: set[str] | None = None,
) -> list[dict[str, str]]:
    """Replicate's ``invalid_fields`` for a create body (unknown fields, wrong types, ranges)."""
    allowed = _BODY_FIELDS | ({"version"} if versioned else set())
    problems = [
        {"type": "additional_property_not_allowed", "field": key,
         "description": f"Additional property {key} is not allowed"}
        for key in sorted(set(body) - allowed)
    ]  # fmt: skip
    events = body.get("webhook_events_filter")
    if events is not None and (
        not isinstance(events, list) or not set(map(str, events)) <= _WEBHOOK_EVENTS
    ):
        problems.append({"type": "enum", "field": "webhook_events_filter",
                         "description": "must be a subset of start, output, logs, completed"})  # fmt: skip
    if "webhook" in body and not isinstance(body["webhook"], str):
        problems.append(
            {"type": "invalid_type", "field": "webhook", "description": "must be a string"}
        )
    model_input = body.get("input")
    schema = schema if schema is not None else INPUT_SCHEMAS.get(model)
    if not isinstance(model_input, dict) or schema is None:
        return problems
    needed = required_inputs(model) if required is None else required
    for key in sorted(needed - set(model_input)):
        problems.append(
            {"type": "required", "field": f"input.{key}", "description": f"{key} is required"}
        )
    for key, value in sorted(model_input.items()):
        rule = schema.get(key)
        if rule is None:
            problems.append({"type": "additional_property_not_allowed", "field": f"input.{key}",
                             "description": f"Additional property {key} is not allowed"})  # fmt: skip
        elif not _type_ok(value, rule):
            problems.append({"type": "invalid", "field": f"input.{key}",
                             "description": f"{key}: {value!r} does not match the schema"})  # fmt: skip
    return problems


DATA_URI_MAX_BYTES = 256 * 1024  # Replicate refuses larger data: URIs (use the files API)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def input_refusals(
    schema: dict[str, Any] | None, model_input: dict[str, Any], file_url: str, files: set[str]
) -> list[dict[str, str]]:
    """What the real API refuses whatever the mode: input fields the model does not have, data:
    URIs over 256 KiB, and links to uploaded files that do not exist."""
    problems = [
        {"type": "additional_property_not_allowed", "field": f"input.{key}",
         "description": f"Additional property {key} is not allowed"}
        for key in sorted(model_input) if schema is not None and key not in schema
    ]  # fmt: skip
    for key, value in sorted(model_input.items()):
        for text in _strings(value):
            if text.startswith("data:") and len(text) > DATA_URI_MAX_BYTES:
                problems.append({"type": "too_large", "field": f"input.{key}",
                                 "description": f"{key}: data URIs must be at most 256 KB; "
                                                "upload the file (POST /v1/files)"})  # fmt: skip
            elif text.startswith(file_url) and text.removeprefix(file_url) not in files:
                problems.append({"type": "invalid", "field": f"input.{key}",
                                 "description": f"{key}: no such file {text}"})  # fmt: skip
    return problems


def _cancel_after_s(header: str) -> float | None:
    """``Cancel-After`` in Replicate's duration form (``30s``, ``5m``, ``1h30m``); None if absent."""
    if not header:
        return None
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", header.strip())
    if not parts or "".join(n + u for n, u in parts) != header.strip():
        raise ValueError(header)
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


# ---- state -----------------------------------------------------------------------------------


@dataclass
class Failure:
    """A create that fails: 401, 422, 429, 500, or a lost answer (lost-drop, lost-500, lost-hang)."""

    kind: str
    match: str = ""  # only creates whose input prompt contains this
    times: int = 1
    retry_after_s: float | None = None
    detail: str = ""  # the problem's detail instead of the usual one
    delay_s: float = 0.0  # a lost answer is dropped this late


CHAOS_KINDS = ("429", "500", "slow", "lost")
CHAOS_CALLS = ("create", "get", "list", "cancel")


@dataclass
class Chaos:
    """Random faults at ``rate`` on the chosen calls, drawn from a seeded generator (replayable).

    On a create, "429" and "500" refuse before anything exists; "lost" creates the prediction
    (it is paid for) and drops the connection; "slow" creates it and answers after ``slow_s``
    (beyond the client's timeout, the answer is lost too). On other calls "slow" delays the
    answer and "lost" drops it.
    """

    rate: float
    kinds: tuple[str, ...]
    calls: frozenset[str]
    slow_s: float
    seed: int
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (call, kind) → count
    # One stream per call kind: the faults creates see do not depend on how they interleave
    # with gets and lists, so a seed replays the same create faults on every run.
    _streams: dict[str, random.Random] = field(default_factory=dict)

    def draw(self, call: str) -> str | None:
        if call not in self.calls:
            return None
        rng = self._streams.setdefault(call, random.Random(f"{self.seed}:{call}"))
        if rng.random() >= self.rate:
            return None
        kind = rng.choice(self.kinds)
        self.injected[call, kind] += 1
        return kind


@dataclass
class Ending:
    """How matching predictions end instead of succeeding: "failed" (content policy) or "aborted"."""

    match: str
    status: str
    error: str = CONTENT_POLICY_ERROR


@dataclass
class Timing:
    """Random timings (seeded): queueing behind ``max_running``, cold starts, latency spread."""

    seed: int = 0
    spread: float = 0.5  # processing takes latency × uniform(1 − spread, 1 + spread)
    cold_start_rate: float = 0.1
    cold_start_s: float = 2.0
    max_running: int = 0  # 0 → unlimited; beyond it predictions wait in "starting"
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)


@dataclass
class WebhookChaos:
    """Redeliveries (same webhook-id) and stale snapshots delivered after the final one."""

    duplicates: int = 1  # extra deliveries of every webhook, same id
    stale_after: bool = True  # a "processing" snapshot arrives after the terminal one
    delay_s: float = 0.05


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeFile:
    """A file uploaded through ``POST /v1/files``."""

    id: str
    name: str
    content_type: str
    content: bytes
    metadata: dict[str, Any]
    created_at: float

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": len(self.content),
            "etag": hashlib.md5(self.content).hexdigest(),
            "checksums": {
                "sha256": hashlib.sha256(self.content).hexdigest(),
                "md5": hashlib.md5(self.content).hexdigest(),
            },
            "metadata": self.metadata,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.created_at + FILE_TTL_S),
            "urls": {"get": f"{base_url}/v1/files/{self.id}"},
        }


FILE_TTL_S = 24 * 3600.0
FILE_FIELDS = {"content", "filename", "type", "metadata"}


@dataclass
class FakePrediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    webhook: str
    events: list[str]
    created_at: float
    status: str = "starting"
    output: Any = None
    error: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    predict_time: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    cancel_after_s: float | None = None  # the create's Cancel-After deadline
    listed_at: float = 0.0  # when GET /v1/predictions starts showing it
    expires_at: float | None = None  # outputs removed after this (data_removed)
    logs: str = ""

    @property
    def terminal(self) -> bool:
        return self.status in ("succeeded", "failed", "canceled", "aborted")

    def to_json(
        self, base_url: str, *, listed: bool = False, echo_webhook: bool = True
    ) -> dict[str, Any]:
        removed = self.expires_at is not None and time.time() >= self.expires_at
        data: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "output": None if removed else self.output,
            "logs": "" if removed else self.logs,
            "error": self.error,
            "status": self.status,
            "source": "api",
            "data_removed": removed,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "urls": {
                "get": f"{base_url}/v1/predictions/{self.id}",
                "cancel": f"{base_url}/v1/predictions/{self.id}/cancel",
                "web": f"https://replicate.com/p/{self.id}",
            },
            "metrics": {"predict_time": self.predict_time} if self.predict_time is not None else {},
        }
        if removed:
            data["input"] = {}
        if self.webhook and echo_webhook:
            data["webhook"] = self.webhook
            data["webhook_events_filter"] = self.events
        if listed:
            # The list answer leaves these out: a caller reads the prediction for them.
            for key in ("input", "output", "logs", "webhook", "webhook_events_filter"):
                data.pop(key, None)
        return data


def _problem(
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    invalid_fields: list[dict[str, str]] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"title": title, "detail": detail, "status": status}
    if invalid_fields:
        body["invalid_fields"] = invalid_fields
    return web.json_response(
        body, status=status, headers=headers, content_type="application/problem+json"
    )


def sign_webhook(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes
    status: int


class FakeReplicate:
    """The fake server. ``await start()`` → base URL; tests tune it through its attributes."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        latency_s: float = 0.3,
        webhook_secret: str = "",
        data_uri_outputs: bool = False,
        list_page_size: int = 100,
        predict_time_s: float | None = None,
    ) -> None:
        self.token = token
        self.latency_s = latency_s
        self.webhook_secret = webhook_secret
        self.data_uri_outputs = data_uri_outputs
        self.list_page_size = list_page_size
        self.predict_time_s = predict_time_s
        self.failures: list[Failure] = []
        # Stricter modes (see the module docstring); strict() turns most on.
        self.list_delay_s = 0.0  # a new prediction shows in GET /v1/predictions after this
        self.list_omits_fields = True  # list items without input/output/webhook, as Replicate
        # Whether GET answers and webhook bodies echo the webhook URL (Replicate's documented
        # examples do not: the URL's query is then the only place an item tag survives).
        self.echo_webhook = True
        self.official_models_only = True  # create-by-name refused for non-official models
        self.validate_bodies = False  # 422 with invalid_fields for bodies off the schemas
        self.timing: Timing | None = None
        self.honour_clip_shape = False  # clips as long and shaped as asked (tiny pixels)
        self.output_ttl_s: float | None = None  # outputs removed (data_removed) after this
        self.webhook_chaos: WebhookChaos | None = None
        self.create_limit: tuple[int, float] | None = None  # (creates, per seconds) → 429
        self.rate_limit_reset_s = 30  # what the 429 body says ("resets in ~30s")
        self.cancel_delay_s = 0.0  # a cancel takes effect this long after it is asked
        self.answer_creates = True  # False: creates make the prediction and never answer
        self.create_times: list[float] = []  # when each create request arrived
        self.create_answer_delay_s = 0.0  # answered creates answer this late (created at once)
        self.get_refusal: int | None = None  # e.g. 403: every GET of a prediction is refused
        self.gets = 0  # GET /v1/predictions/{id} requests
        self.live = 0  # predictions created and not yet terminal
        self.peak_live = 0  # the most that were live at once
        self.version_lookups = 0
        # The published input schemas and official models; register_model() adds to them.
        self.schemas: dict[str, dict[str, Any]] = dict(INPUT_SCHEMAS)
        self.official: set[str] = set(OFFICIAL_MODELS)
        self.required: dict[str, set[str]] = {}  # registered models' required inputs
        self.files: dict[str, FakeFile] = {}  # POST /v1/files uploads, by id
        self.file_limit_bytes = 100 * 1024 * 1024  # larger uploads are refused with 413
        self._create_window: list[float] = []
        self._running = 0
        self._slot_freed = asyncio.Event()
        self.chaos_mode: Chaos | None = None
        self.endings: list[Ending] = []
        self.predictions: dict[str, FakePrediction] = {}
        self.spoken: dict[tuple[str, float], SpokenText] = {}  # speech made, by text and speed
        self.creates = 0  # predictions actually created (the paid ones)
        self.create_requests = 0
        self.cancels = 0
        self.deliveries: list[Delivery] = []
        self.media = ensure_media()
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # ---- control ----------------------------------------------------------------------------

    def fail(
        self,
        kind: str,
        *,
        match: str = "",
        times: int = 1,
        retry_after_s: float | None = None,
        detail: str = "",
        delay_s: float = 0.0,
    ) -> None:
        self.failures.append(Failure(kind, match, times, retry_after_s, detail, delay_s))

    def register_model(
        self, model: str, schema: dict[str, Any], *, required: Iterable[str], official: bool = True
    ) -> None:
        """A model the fake also runs (its published input schema and required inputs), e.g. one
        a test adds to the generator's catalog."""
        self.schemas[model] = schema
        self.required[model] = set(required)
        if official:
            self.official.add(model)

    def finish_now(self) -> None:
        """Every running prediction ends now (as its schedule would), so tests wait on events."""
        for prediction in list(self.predictions.values()):
            if not prediction.terminal:
                if prediction.task is not None:
                    prediction.task.cancel()
                prediction.started_at = prediction.started_at or time.time()
                self._finish(prediction)

    def chaos(
        self,
        rate: float,
        *,
        seed: int = 0,
        kinds: Iterable[str] = CHAOS_KINDS,
        calls: Iterable[str] = CHAOS_CALLS,
        slow_s: float = 2.0,
    ) -> Chaos:
        """Random faults from now on (rate 0 turns them off); returns the tally of what was injected."""
        chosen = tuple(kinds)
        unknown = (set(chosen) - set(CHAOS_KINDS)) | (set(calls) - set(CHAOS_CALLS))
        if unknown or not chosen:
            raise ValueError(f"unknown chaos kinds or calls: {sorted(unknown)}")
        self.chaos_mode = Chaos(rate, chosen, frozenset(calls), slow_s, seed)
        return self.chaos_mode

    def strict(self, *, seed: int = 0) -> FakeReplicate:
        """Most of the real API's unkindness at once (timings stay short for tests)."""
        self.list_delay_s = max(self.list_delay_s, 1.0)
        self.validate_bodies = True
        self.echo_webhook = False
        self.timing = Timing(seed=seed, cold_start_s=self.latency_s)
        self.honour_clip_shape = True
        self.webhook_chaos = WebhookChaos()
        self.cancel_delay_s = max(self.cancel_delay_s, 0.2)
        return self

    def _draw(self, call: str) -> str | None:
        return self.chaos_mode.draw(call) if self.chaos_mode is not None else None

    async def _chaos_answer(self, request: web.Request, call: str) -> web.StreamResponse | None:
        """A random fault for a call that creates nothing; None lets the call answer normally."""
        kind = self._draw(call)
        if kind == "slow":
            assert self.chaos_mode is not None
            await asyncio.sleep(self.chaos_mode.slow_s)
        elif kind == "lost":
            return await self._lose_answer(request, Failure("lost-drop"))
        elif kind is not None:
            return self._refusal(Failure(kind))
        return None

    def end_with(self, match: str, status: str, error: str = CONTENT_POLICY_ERROR) -> None:
        self.endings.append(Ending(match, status, error))

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        predictions = [
            web.post("/v1/models/{owner}/{name}/predictions", self._create_for_model),
            web.post("/v1/predictions", self._create_for_version),
            web.get("/v1/predictions", self._list),
            web.get("/v1/predictions/{id}", self._get),
            web.post("/v1/predictions/{id}/cancel", self._cancel),
        ]
        models_and_files = [
            web.get("/v1/models/{owner}/{name}/versions/{version}", self._version),
            web.get("/v1/models/{owner}/{name}", self._model),
            web.post("/v1/files", self._upload_file),
            web.get("/v1/files/{id}", self._get_file),
        ]
        # Not Replicate's: the outputs' files, and the tests' window into the fake.
        fake_only = [
            web.get("/files/{name}", self._file),
            web.get("/_fake/stats", self._stats),
            web.post("/_fake/control", self._control),
        ]
        app.add_routes([*predictions, *models_and_files, *fake_only])
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{bound}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self.base_url

    async def close(self) -> None:
        for task in list(self._background) + [p.task for p in self.predictions.values() if p.task]:
            task.cancel()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeReplicate:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ---- handlers ---------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _create_for_model(self, request: web.Request) -> web.StreamResponse:
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        return await self._create(request, model, "hidden")

    async def _create_for_version(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        if body is None:
            return _problem(400, "Bad request", "the body is not a JSON object")
        version = str(body.get("version", ""))
        model, _, version_id = version.rpartition(":")
        if not model:
            model = next((m for m in self.schemas if _version_of(m) == version_id), "")
        return await self._create(request, model or "replicate/pinned-model", version_id, body)

    async def _create(
        self, request: web.Request, model: str, version: str, body: dict[str, Any] | None = None
    ) -> web.StreamResponse:
        self.create_requests += 1
        self.create_times.append(time.time())
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        body = body if body is not None else await _json_body(request)
        if body is None:
            return _problem(400, "Bad request", "the body is not a JSON object")
        if version == "hidden" and self.official_models_only and model not in self.official:
            return _problem(422, "Invalid version or not permitted", NOT_PERMITTED)
        model_input = body.get("input")
        if not isinstance(model_input, dict):
            return _problem(422, "Input validation failed", "input is required")
        if invalid := self._input_problems(model, body, versioned=version != "hidden"):
            return _problem(422, "Input validation failed",
                            "; ".join(p["description"] for p in invalid), invalid_fields=invalid)  # fmt: skip
        try:
            cancel_after = _cancel_after_s(request.headers.get("Cancel-After", ""))
        except ValueError:
            return _problem(
                422, "Invalid Cancel-After", "Cancel-After must be a duration like 30s or 5m"
            )
        if cancel_after is not None and cancel_after < 5:
            return _problem(422, "Invalid Cancel-After", "Cancel-After must be at least 5s")
        if (throttled := self._throttle()) is not None:
            return throttled
        failure = self._take_failure(prompt_of(model_input))
        chaos = self._draw("create") if failure is None else None
        if chaos in ("429", "500"):
            failure = Failure(chaos)
        elif chaos == "lost":
            failure = Failure("lost-drop")
        if failure is None and not self.answer_creates:
            failure = Failure("lost-hang")
        if failure is not None and not failure.kind.startswith("lost"):
            return self._refusal(failure)
        prediction = self._new_prediction(model, version, model_input, body)
        prediction.cancel_after_s = cancel_after
        if failure is not None:
            return await self._lose_answer(request, failure)
        if chaos == "slow":
            assert self.chaos_mode is not None
            await asyncio.sleep(self.chaos_mode.slow_s)  # created, but the answer comes too late
        if self.create_answer_delay_s:
            await asyncio.sleep(self.create_answer_delay_s)
        wait = _prefer_wait(request.headers.get("Prefer", ""))
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(prediction.done.wait(), wait)
        return web.json_response(prediction.to_json(self.base_url), status=201)

    def _input_problems(
        self, model: str, body: dict[str, Any], *, versioned: bool
    ) -> list[dict[str, str]]:
        """Always what the real API refuses outright; with validate_bodies every schema rule."""
        schema = self.schemas.get(model)
        file_url = f"{self.base_url}/v1/files/"
        problems = input_refusals(schema, body["input"], file_url, set(self.files))
        if self.validate_bodies:
            problems += validation_errors(model, body, versioned=versioned, schema=schema,
                                          required=self.required.get(model))  # fmt: skip
        unique = {(p["field"], p["type"]): p for p in problems}
        return list(unique.values())

    def _throttle(self) -> web.Response | None:
        """Replicate's create limit: the real 429 body, no Retry-After header."""
        if self.create_limit is None:
            return None
        count, window = self.create_limit
        now = time.monotonic()
        self._create_window = [t for t in self._create_window if now - t < window]
        if len(self._create_window) >= count:
            return self._refusal(Failure("429"))
        self._create_window.append(now)
        return None

    def _take_failure(self, prompt: str) -> Failure | None:
        for failure in self.failures:
            if failure.times > 0 and failure.match in prompt:
                failure.times -= 1
                return failure
        return None

    def _refusal(self, failure: Failure) -> web.Response:
        if failure.kind == "401":
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if failure.kind == "422":
            return _problem(
                422,
                "Input validation failed",
                failure.detail or "input.duration: must be less than or equal to 12",
            )
        if failure.kind == "429":
            headers = (
                {"Retry-After": f"{failure.retry_after_s:g}"}
                if failure.retry_after_s is not None
                else None
            )
            return _problem(
                429,
                "Request was throttled",
                f"Request was throttled. Your rate limit resets in ~{self.rate_limit_reset_s}s.",
                headers,
            )
        return _problem(500, "Internal Server Error", "Something went wrong")

    async def _lose_answer(self, request: web.Request, failure: Failure) -> web.StreamResponse:
        """The prediction exists (and is paid for) but its create answer never arrives."""
        if failure.kind == "lost-500":
            return _problem(500, "Internal Server Error", "Something went wrong")
        if failure.kind == "lost-hang":
            await asyncio.sleep(3600)
        await asyncio.sleep(failure.delay_s)  # the connection drops this late
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError  # aiohttp drops the connection without an answer

    def _new_prediction(
        self, model: str, version: str, model_input: dict[str, Any], body: dict[str, Any]
    ) -> FakePrediction:
        self.creates += 1
        prediction = FakePrediction(
            id=secrets.token_hex(13)[:26],
            model=model,
            version=version,
            input=model_input,
            webhook=str(body.get("webhook") or ""),
            events=list(
                body.get("webhook_events_filter") or ["start", "output", "logs", "completed"]
            ),
            created_at=time.time(),
        )
        prediction.listed_at = prediction.created_at + self.list_delay_s
        self.predictions[prediction.id] = prediction
        self.live += 1
        self.peak_live = max(self.peak_live, self.live)
        prediction.task = asyncio.create_task(self._advance(prediction))
        if "start" in prediction.events:
            self._send_webhook(prediction)
        return prediction

    async def _advance(self, prediction: FakePrediction) -> None:
        deadline = prediction.cancel_after_s
        if deadline is None:
            await self._run(prediction)
            return
        try:
            async with asyncio.timeout(deadline):
                await self._run(prediction)
        except TimeoutError:
            # Replicate's deadline: aborted (not charged) in the queue, canceled once running.
            prediction.status = "aborted" if prediction.started_at is None else "canceled"
            prediction.completed_at = time.time()
            self._mark_done(prediction)
            if "completed" in prediction.events:
                self._send_webhook(prediction)

    async def _run(self, prediction: FakePrediction) -> None:
        timing = self.timing
        queued = self.latency_s * 0.2
        processing = self.latency_s * 0.8
        if timing is not None:
            if timing.rng.random() < timing.cold_start_rate:
                queued += timing.cold_start_s
            processing *= timing.rng.uniform(1 - timing.spread, 1 + timing.spread)
        await asyncio.sleep(queued)
        while timing is not None and timing.max_running and self._running >= timing.max_running:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        self._running += 1
        try:
            prediction.status = "processing"
            prediction.started_at = time.time()
            if prediction.model in SPEECH_MODELS:
                await asyncio.to_thread(self._speech, prediction)  # made off the event loop
            await asyncio.sleep(processing)
            self._finish(prediction)
        finally:
            self._running -= 1
            self._slot_freed.set()

    def _finish(self, prediction: FakePrediction) -> None:
        prompt = prompt_of(prediction.input)
        ending = next((e for e in self.endings if e.match and e.match in prompt), None)
        prediction.completed_at = time.time()
        prediction.predict_time = (
            self.predict_time_s if self.predict_time_s is not None else self.latency_s * 0.8
        )
        if ending is not None:
            prediction.status = ending.status
            prediction.error = ending.error if ending.status == "failed" else None
            if ending.status == "aborted":
                prediction.predict_time = None
        else:
            prediction.status = "succeeded"
            prediction.output = self._output_for(prediction)
            if self.output_ttl_s is not None:
                prediction.expires_at = time.time() + self.output_ttl_s
        self._mark_done(prediction)
        if "completed" in prediction.events:
            self._send_webhook(prediction)

    def _mark_done(self, prediction: FakePrediction) -> None:
        if not prediction.done.is_set():
            prediction.done.set()
            self.live -= 1

    def _speech(self, prediction: FakePrediction) -> SpokenText:
        text, speed = str(prediction.input["text"]), float(prediction.input.get("speed", 1))
        if (text, speed) not in self.spoken:
            self.spoken[text, speed] = speak_sentences(self.media["png"].parent, text, speed)
        return self.spoken[text, speed]

    def _output_for(self, prediction: FakePrediction) -> Any:
        model = prediction.model
        kind = _media_kind(model)
        path = self.media.get(kind, Path())
        if kind == "mp3":
            spoken = self._speech(prediction)
            path = spoken.audio
            if prediction.input.get("subtitle_enable"):
                prediction.logs = f"Generated speech\nsubtitles: {json.dumps(spoken.subtitles)}\n"
        if kind == "mp4" and self.honour_clip_shape:
            duration = prediction.input.get("duration", 1)
            aspect = str(prediction.input.get("aspect_ratio", "9:16"))
            path = sized_clip(path.parent, max(1, min(12, int(duration))), aspect)
        if self.data_uri_outputs:
            data = base64.b64encode(path.read_bytes()).decode()
            url = f"data:{_MIME[kind]};base64,{data}"
        else:
            url = f"{self.base_url}/files/{path.name}"
            if self.output_ttl_s is not None:
                url += f"?expires={time.time() + self.output_ttl_s:.3f}"
        return [url] if model in _LIST_OUTPUT_MODELS else url

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        self.gets += 1
        if self.get_refusal is not None:
            return _problem(self.get_refusal, "Forbidden", "You do not have permission to do that")
        if (fault := await self._chaos_answer(request, "get")) is not None:
            return fault
        prediction = self.predictions.get(request.match_info["id"])
        if prediction is None:
            return _problem(404, "Not found", "The requested resource could not be found.")
        return web.json_response(prediction.to_json(self.base_url, echo_webhook=self.echo_webhook))

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if (fault := await self._chaos_answer(request, "cancel")) is not None:
            return fault
        prediction = self.predictions.get(request.match_info["id"])
        if prediction is None:
            return _problem(404, "Not found", "The requested resource could not be found.")
        if not prediction.terminal:
            self.cancels += 1
            if self.cancel_delay_s > 0:
                # Slow cancel: the answer still shows it running; it ends a while later.
                answer = prediction.to_json(self.base_url)
                self._later(self.cancel_delay_s, lambda: self._end_canceled(prediction))
                return web.json_response(answer)
            self._end_canceled(prediction)
        return web.json_response(prediction.to_json(self.base_url))

    def _end_canceled(self, prediction: FakePrediction) -> None:
        if prediction.terminal:
            return
        if prediction.task is not None:
            prediction.task.cancel()
        prediction.status = "canceled"
        prediction.completed_at = time.time()
        self._mark_done(prediction)
        if "completed" in prediction.events:
            self._send_webhook(prediction)

    def _later(self, delay_s: float, action: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(delay_s)
            action()

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _list(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if (fault := await self._chaos_answer(request, "list")) is not None:
            return fault
        now = time.time()
        visible = [p for p in self.predictions.values() if p.listed_at <= now]
        newest_first = sorted(visible, key=lambda p: p.created_at, reverse=True)
        start = int(request.query.get("cursor", "0") or 0)
        page = newest_first[start : start + self.list_page_size]
        more = start + self.list_page_size < len(newest_first)
        body = {
            "results": [p.to_json(self.base_url, listed=self.list_omits_fields) for p in page],
            "next": f"{self.base_url}/v1/predictions?cursor={start + self.list_page_size}"
            if more
            else None,
            "previous": None,
        }
        return web.json_response(body)

    async def _version(self, request: web.Request) -> web.Response:
        version = request.match_info["version"]
        body: dict[str, Any] = {
            "id": version,
            "created_at": _iso(time.time()),
            "cog_version": "0.9.0",
            "openapi_schema": {},
        }
        return web.json_response(body)

    async def _model(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        if model not in self.schemas:
            return _problem(404, "Not found", "The requested resource could not be found.")
        self.version_lookups += 1
        owner, name = model.split("/")
        latest: dict[str, Any] | None = None
        if model not in self.official:
            latest = {"id": _version_of(model), "created_at": _iso(time.time()),
                      "cog_version": "0.9.0", "openapi_schema": {}}  # fmt: skip
        body = {"url": f"https://replicate.com/{model}", "owner": owner, "name": name,
                "visibility": "public", "latest_version": latest}  # fmt: skip
        return web.json_response(body)

    async def _upload_file(self, request: web.Request) -> web.Response:
        """``POST /v1/files``: multipart ``content`` (the file), optional ``filename``, ``type``
        and ``metadata`` (a JSON object); 413 over ``file_limit_bytes``."""
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if not request.content_type.startswith("multipart/form-data"):
            return _problem(415, "Unsupported Media Type", "the body must be multipart/form-data")
        fields: dict[str, str] = {}
        content: bytes | None = None
        part_name, part_type = "", ""
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name not in FILE_FIELDS:
                name = getattr(part, "name", None)
                return _problem(422, "Input validation failed", f"unknown field {name!r}")
            if part.name != "content":
                fields[part.name] = await part.text()
                continue
            content = await part.read()  # aiohttp bounds the body by client_max_size
            if len(content) > self.file_limit_bytes:
                return _problem(413, "Payload Too Large",
                                f"files may be at most {self.file_limit_bytes} bytes")  # fmt: skip
            part_name = part.filename or ""
            part_type = part.headers.get("Content-Type", "")
        if content is None:
            return _problem(422, "Input validation failed", "content is required")
        try:
            metadata = json.loads(fields.get("metadata") or "{}")
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            return _problem(422, "Input validation failed", "metadata must be a JSON object")
        upload = FakeFile(
            id=secrets.token_hex(12),
            name=fields.get("filename") or part_name or "file",
            content_type=fields.get("type") or part_type or "application/octet-stream",
            content=content,
            metadata=metadata,
            created_at=time.time(),
        )
        self.files[upload.id] = upload
        return web.json_response(upload.to_json(self.base_url), status=201)

    async def _get_file(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        upload = self.files.get(request.match_info["id"])
        if upload is None:
            return _problem(404, "Not found", "The requested resource could not be found.")
        return web.json_response(upload.to_json(self.base_url))

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        expires = request.query.get("expires")
        if expires is not None and time.time() >= float(expires):
            return _problem(404, "Not found", "this output has expired")
        root = self.media["mp4"].parent
        path = next((p for p in self.media.values() if p.name == name), None)
        if path is None and re.fullmatch(r"clip-\d+x\d+-\d+s\.mp4|speech-[0-9a-f]{16}\.mp3", name):
            path = root / name if (root / name).exists() else None
        if path is None:
            return _problem(404, "Not found", "no such file")
        kind = path.suffix.lstrip(".")
        return web.FileResponse(path, headers={"Content-Type": _MIME[kind]})

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "creates": self.creates,
                "create_requests": self.create_requests,
                "cancels": self.cancels,
                "gets": self.gets,
                "peak_live": self.peak_live,
                "version_lookups": self.version_lookups,
                "chaos": {
                    f"{call}:{kind}": count
                    for (call, kind), count in (
                        self.chaos_mode.injected if self.chaos_mode else Counter()
                    ).items()
                },
            }
        )

    async def _control(self, request: web.Request) -> web.Response:
        """Configure a running fake from another process (the end-to-end test)."""
        body = await request.json()
        if body.get("strict"):
            self.strict(seed=int(body.get("seed", 0)))
        for name in ("latency_s", "list_delay_s", "cancel_delay_s", "create_answer_delay_s"):
            if name in body:
                setattr(self, name, float(body[name]))
        for name in ("answer_creates", "validate_bodies", "honour_clip_shape"):
            if name in body:
                setattr(self, name, bool(body[name]))
        if "output_ttl_s" in body:
            self.output_ttl_s = (
                None if body["output_ttl_s"] is None else float(body["output_ttl_s"])
            )
        if "create_limit" in body:  # [creates, per seconds] or null
            limit = body["create_limit"]
            self.create_limit = None if limit is None else (int(limit[0]), float(limit[1]))
        for item in body.get("fail", []):
            self.fail(item["kind"], match=item.get("match", ""), times=int(item.get("times", 1)),
                      retry_after_s=item.get("retry_after_s"))  # fmt: skip
        if "chaos" in body:
            chaos = body["chaos"]
            self.chaos(float(chaos["rate"]), seed=int(chaos.get("seed", 0)),
                       kinds=chaos.get("kinds", CHAOS_KINDS), calls=chaos.get("calls", CHAOS_CALLS),
                       slow_s=float(chaos.get("slow_s", 2.0)))  # fmt: skip
        for item in body.get("end_with", []):
            self.end_with(item["match"], item["status"], item.get("error", CONTENT_POLICY_ERROR))
        return web.json_response({"ok": True})

    # ---- webhooks ---------------------------------------------------------------------------

    def _send_webhook(self, prediction: FakePrediction) -> None:
        if not prediction.webhook or self._session is None:
            return
        snapshot = prediction.to_json(self.base_url, echo_webhook=self.echo_webhook)
        body = json.dumps(snapshot).encode()
        chaos = self.webhook_chaos
        webhook_id = f"msg_{secrets.token_hex(12)}"
        self._spawn(self._deliver(prediction.webhook, body, webhook_id))
        if chaos is None:
            return
        for copy in range(chaos.duplicates):
            self._later(chaos.delay_s * (copy + 1), lambda: self._spawn(
                self._deliver(prediction.webhook, body, webhook_id)))  # fmt: skip
        if chaos.stale_after and prediction.terminal:
            stale = {**snapshot, "status": "processing", "output": None,
                     "completed_at": None}  # fmt: skip
            stale_body = json.dumps(stale).encode()
            self._later(chaos.delay_s * (chaos.duplicates + 1), lambda: self._spawn(
                self._deliver(prediction.webhook, stale_body, f"msg_{secrets.token_hex(12)}")))  # fmt: skip

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _deliver(self, url: str, body: bytes, webhook_id: str) -> None:
        for attempt in range(3):
            timestamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "webhook-id": webhook_id,
                "webhook-timestamp": timestamp,
            }
            if self.webhook_secret:
                headers["webhook-signature"] = sign_webhook(
                    self.webhook_secret, webhook_id, timestamp, body
                )
            status = 0
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                assert self._session is not None
                async with self._session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    status = answer.status
            self.deliveries.append(Delivery(url, headers, body, status))
            if 200 <= status < 300:
                return
            await asyncio.sleep(0.2 * 2**attempt)


def _version_of(model: str) -> str:
    """A stable fake 64-hex version id per model."""
    return hashlib.sha256(model.encode()).hexdigest()


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _prefer_wait(header: str) -> float:
    match = re.match(r"^\s*wait(?:=(\d+))?\s*$", header)
    if not match:
        return 0.0
    return float(match.group(1) or 60)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeReplicate(
        token=args.token, latency_s=args.latency, webhook_secret=args.webhook_secret
    )
    if args.strict:
        fake.strict(seed=args.seed)
    url = await fake.start(args.host, args.port)
    print(f"fake replicate listening on {url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--latency", type=float, default=1.0, help="seconds from create to terminal"
    )
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument(
        "--strict", action="store_true", help="the real API's unkindness (see strict())"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the strict mode's random timings"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
