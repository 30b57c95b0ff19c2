"""What the renderers share: seed derivation, colour arithmetic, atomic writes and FFmpeg
writing a part file."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from reelforge.runtime import ffmpeg

FFMPEG = "ffmpeg"
RGB = tuple[int, int, int]


class RenderError(RuntimeError):
    """A render that failed: FFmpeg's exit with its last stderr lines, or an unusable input."""


def derive_seed(seed: int, *parts: str | bytes) -> int:
    """A 63-bit seed from ``seed`` and ``parts`` via sha256: stable across runs and machines.

    Seed 0 means "choose": the result then depends on ``parts`` alone (the prompt, the image).
    """
    digest = hashlib.sha256()
    digest.update(str(int(seed)).encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return int.from_bytes(digest.digest()[:8], "big") >> 1


def luminance(colour: RGB) -> float:
    """Relative luminance (WCAG) of an sRGB colour, 0–1."""

    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = colour
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour a fraction ``t`` of the way from ``a`` to ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def check_duration(duration_s: float, *, limit_s: float = 600.0) -> float:
    value = float(duration_s)
    if not math.isfinite(value) or value <= 0 or value > limit_s:
        raise ValueError(f"duration_s must be > 0 and ≤ {limit_s:g}, got {duration_s!r}")
    return value


def part_path(dest: Path) -> Path:
    """A hidden sibling of ``dest`` that a render writes first and then renames onto ``dest``."""
    return dest.with_name(f".{dest.stem}.{secrets.token_hex(6)}.part{dest.suffix}")


def write_atomic(data: bytes, dest: Path) -> None:
    """Writes ``data`` so that ``dest`` is either untouched or complete, never partial."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(dest)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def ffmpeg_command(args: Sequence[str], output: Path) -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(output)]


async def ffmpeg_to_file(
    args: Sequence[str], dest: Path, *, what: str, stdin_data: bytes | None = None
) -> None:
    """Runs ``ffmpeg ARGS <part file>`` (``reelforge.runtime.ffmpeg``), then renames the part
    file onto ``dest``.

    Cancellation (or any error) kills FFmpeg, waits for it and removes the part file, so
    ``dest`` is only ever absent, the previous file, or the complete new one.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(dest)
    try:
        # No timeout of its own: a render is short and bounded by its input; a canceled item
        # cancels this, which kills FFmpeg.
        await ffmpeg.run_ffmpeg(ffmpeg_command(args, tmp), timeout_s=None, stdin_data=stdin_data)
        os.replace(tmp, dest)
    except ffmpeg.FfmpegFailed as error:
        raise RenderError(f"{what}: {error.message}") from None
    finally:
        tmp.unlink(missing_ok=True)
