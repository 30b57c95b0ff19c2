"""Tiny media made with FFmpeg's lavfi sources, and the measurements a user would take of an ad."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

_ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_clip(path: Path, seconds: float, *, tone_hz: int = 0, size: str = "180x320") -> Path:
    """A testsrc clip at 24 fps, with a sine soundtrack when ``tone_hz`` is set."""
    video = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=24:duration={seconds}"]
    if tone_hz:
        audio = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}"]
        _ffmpeg(*video, *audio, *_ENCODE, "-c:a", "aac", "-shortest", str(path))
    else:
        _ffmpeg(*video, *_ENCODE, str(path))
    return path


def make_music(path: Path, seconds: float) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(path))
    return path


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (``moov`` before ``mdat`` means faststart)."""
    boxes, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return boxes


def pcm(path: Path, rate: int = 8000) -> np.ndarray:
    """The file's sound as mono float samples."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
