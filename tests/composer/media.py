"""Tiny media made with FFmpeg's lavfi sources, and the measurements a user would take of an ad."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np

_ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_clip(
    path: Path, seconds: float, *, tone_hz: int = 0, size: str = "180x320", colour: str = ""
) -> Path:
    """A testsrc clip at 24 fps (one flat ``colour`` when set, e.g. "0x406080"), with a sine
    soundtrack when ``tone_hz`` is set."""
    source = f"color=c={colour}:" if colour else "testsrc="
    video = ["-f", "lavfi", "-i", f"{source}size={size}:rate=24:duration={seconds}"]
    if tone_hz:
        audio = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}"]
        _ffmpeg(*video, *audio, *_ENCODE, "-c:a", "aac", "-shortest", str(path))
    else:
        _ffmpeg(*video, *_ENCODE, str(path))
    return path


def make_music(path: Path, seconds: float, hz: int = 440) -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}", "-c:a", "aac", str(path)
    )
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


def band_rms_db(samples: np.ndarray, rate: int, hz: float, width_hz: float = 40.0) -> float:
    """RMS level (dBFS) of what ``samples`` hold within ``width_hz`` around ``hz``: one tone's
    share of a mix, read off the spectrum (Parseval, so windows of any length compare)."""
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * window))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = spectrum[np.abs(freqs - hz) <= width_hz / 2]
    mean_square = 2 * np.sum(band**2) / (len(samples) * np.sum(window**2))
    return float(10 * np.log10(mean_square + 1e-20))


def loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the file's audio, from ebur128's summary."""
    log = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    ).stderr  # fmt: skip
    summary = log[log.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def speech_onsets(path: Path, below_hz: int, noise_db: int = -45) -> list[float]:
    """When sound starts after at least 0.2 s of silence (FFmpeg's silencedetect), counting only
    what lies below ``below_hz`` (a music tone above it is filtered out first); 0.0 when the
    file starts with sound."""
    lowpass = ",".join([f"lowpass=f={below_hz}"] * 3)  # 36 dB/octave
    log = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", f"{lowpass},silencedetect=n={noise_db}dB:d=0.2", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    ).stderr  # fmt: skip
    starts = [float(t) for t in re.findall(r"silence_start: (-?[\d.]+)", log)]
    ends = [float(t) for t in re.findall(r"silence_end: (-?[\d.]+)", log)]
    return ([0.0] if not starts or starts[0] > 0.01 else []) + ends


def video_frames(path: Path) -> int:
    """How many frames the file's video stream has (decoded and counted, not its header's)."""
    answer = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return int(answer.strip())


def frame_at(path: Path, at_s: float, width: int, height: int) -> np.ndarray:
    """The RGB frame shown at ``at_s``, as ints (height × width × 3)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{at_s:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(int)


def subtitle_cues(path: Path) -> list[tuple[float, float, str]]:
    """The cues of an SRT or WebVTT file as FFmpeg's subtitle demuxer reads them: (start, end, text)."""
    answer = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_packets", "-show_data", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cues = []
    for packet in json.loads(answer)["packets"]:
        start = float(packet["pts_time"])
        cues.append((start, start + float(packet["duration_time"]), packet.get("data", "")))
    return cues
