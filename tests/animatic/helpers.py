"""Helpers for the animatic renderer tests: decoding media back to NumPy with FFmpeg."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from tests.runtime.processes import processes

ORANGE = (255, 120, 0)  # the test product: in no palette the tests use
GREEN = (0, 255, 0)  # the test product photo's background
CYAN = (0, 200, 255)  # the test logo


def product_png(path: Path, *, transparent: bool) -> Path:
    """An orange bottle on a green background that is fully transparent when ``transparent``."""
    img = Image.new("RGBA", (200, 300), (*GREEN, 0 if transparent else 255))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((60, 75, 140, 290), radius=20, fill=(*ORANGE, 255))
    draw.rectangle((85, 20, 115, 80), fill=(*ORANGE, 255))
    img.save(path)
    return path


def logo_png(path: Path) -> Path:
    """A cyan 3:1 pill on a transparent background."""
    img = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle((0, 0, 299, 99), radius=30, fill=(*CYAN, 255))
    img.save(path)
    return path


async def ffmpeg_stdout(*args: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")
    return out


async def decode_audio(path: Path, sample_rate: int = 44100) -> NDArray[np.float64]:
    """The file's audio as float stereo samples, shape (n, 2)."""
    raw = await ffmpeg_stdout(
        "-i", str(path), "-f", "s16le", "-ac", "2", "-ar", str(sample_rate), "pipe:1"
    )  # fmt: skip
    return np.frombuffer(raw, dtype="<i2").reshape(-1, 2).astype(np.float64) / 32768.0


async def decode_gray_frames(path: Path, width: int, height: int) -> NDArray[np.uint8]:
    """Every frame of a video as 8-bit grey, shape (frames, height, width)."""
    raw = await ffmpeg_stdout("-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width)


async def count_frames(path: Path) -> int:
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
        "-show_entries", "stream=nb_read_frames", "-of", "default=nw=1:nk=1", str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")
    return int(out.strip())


def ffmpeg_children() -> list[int]:
    """Pids of ffmpeg processes whose parent is this test process.

    A zombie (exited, never waited for) counts too: it is a leaked child.
    """
    me = os.getpid()
    return [p.pid for p in processes() if p.parent == me and p.name == "ffmpeg"]


def leftovers(folder: Path) -> list[str]:
    """Hidden part files a render left behind in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ".part" in p.name)


def entries(folder: Path) -> list[str]:
    """Names of everything in ``folder``, sorted."""
    return sorted(p.name for p in folder.iterdir())
