"""Loudness measured, not assumed: FFmpeg's EBU R128 meter over audio-only passes.

An audio-only pass decodes no picture, so measuring a 30 s mix costs a fraction of a second.
Each measured stream goes through ``ebur128`` (true peak on) and ``ametadata`` writes the
meter's running values to a file of its own; the last values are the whole stream's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from reelforge.runtime.ffmpeg import FfmpegFailed, run_ffmpeg
from services.composer.render_errors import RenderFailed
from services.composer.streams import Stream

# ebur128's floor: what it reports for silence (no block passes the absolute gate).
SILENCE_LUFS = -70.0
_VALUE = re.compile(r"^lavfi\.r128\.(I|LRA|true_peak)=(\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS), true peak (dBTP, −inf for silence), loudness range (LU)."""

    integrated_lufs: float
    true_peak_db: float
    range_lu: float

    @property
    def silent(self) -> bool:
        return self.integrated_lufs <= SILENCE_LUFS


def parse_report(text: str) -> Loudness:
    """The last values ``ametadata`` printed: ebur128's figures for the whole stream."""
    values = {name: float(value) for name, value in _VALUE.findall(text)}
    if "I" not in values:
        return Loudness(SILENCE_LUFS, -math.inf, 0.0)  # no audio frame reached the meter
    peak = values.get("true_peak", 0.0)
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    return Loudness(values["I"], peak_db, values.get("LRA", 0.0))


def _metered(stream: Stream, report: Path) -> Stream:
    stream = stream.filter("ebur128", metadata=1, peak="true")
    return stream.filter("ametadata", mode="print", file=str(report))


async def measure(
    streams: dict[str, Stream], workdir: Path, *, timeout_s: float
) -> dict[str, Loudness]:
    """Measures every named audio stream in one FFmpeg run; RenderFailed if it fails."""
    reports = {name: workdir / f"loudness-{name}.txt" for name in streams}
    outputs = [
        ffmpeg.output(_metered(stream, reports[name]), "-", f="null")
        for name, stream in streams.items()
    ]
    command = ffmpeg.merge_outputs(*outputs).global_args("-nostdin", "-loglevel", "error")
    try:
        await run_ffmpeg(command.compile(cmd="ffmpeg"), timeout_s=timeout_s)
    except FfmpegFailed as error:
        raise RenderFailed(f"measuring loudness failed: {error.message}") from None
    return {name: parse_report(path.read_text()) for name, path in reports.items()}
