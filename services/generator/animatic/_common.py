"""What the renderers share: seed derivation, atomic writes and FFmpeg as a killable subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import secrets
import subprocess
from collections.abc import Sequence
from pathlib import Path

from reelforge.runtime.subprocesses import die_with_parent

FFMPEG = "ffmpeg"
_STDERR_TAIL = 8_000


class RenderError(RuntimeError):
    """A render that failed: FFmpeg's exit with its last stderr line, or an unusable input."""


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


def _last_line(stderr: bytes, fallback: str) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else fallback


def ffmpeg_command(args: Sequence[str], output: Path) -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(output)]


async def run_ffmpeg(
    args: Sequence[str], dest: Path, *, what: str, stdin_data: bytes | None = None
) -> None:
    """Runs ``ffmpeg ARGS <part file>`` then renames the part file onto ``dest``.

    Cancellation (or any error) kills FFmpeg, waits for it and removes the part file, so
    ``dest`` is only ever absent, the previous file, or the complete new one.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(dest)
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *die_with_parent(ffmpeg_command(args, tmp)),  # killed if the generator dies
                stdin=asyncio.subprocess.PIPE
                if stdin_data is not None
                else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise RenderError(f"{what}: ffmpeg is not installed or not on PATH") from exc
        try:
            _, stderr = await proc.communicate(stdin_data)
        except BaseException:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                # Shielded: a second cancellation must not leave FFmpeg unreaped.
                await asyncio.shield(proc.wait())
            raise
        if proc.returncode != 0:
            tail = _last_line(stderr[-_STDERR_TAIL:], f"exit status {proc.returncode}")
            raise RenderError(f"{what}: ffmpeg failed: {tail}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def run_ffmpeg_sync(
    args: Sequence[str], dest: Path, *, what: str, stdin_data: bytes | None = None
) -> None:
    """The blocking twin of :func:`run_ffmpeg`, for callers that are themselves synchronous."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(dest)
    try:
        try:
            done = subprocess.run(
                die_with_parent(ffmpeg_command(args, tmp)),  # killed if the generator dies
                input=stdin_data,
                stdin=None if stdin_data is not None else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=False,
            )
        except FileNotFoundError as exc:
            raise RenderError(f"{what}: ffmpeg is not installed or not on PATH") from exc
        if done.returncode != 0:
            tail = _last_line(done.stderr[-_STDERR_TAIL:], f"exit status {done.returncode}")
            raise RenderError(f"{what}: ffmpeg failed: {tail}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
