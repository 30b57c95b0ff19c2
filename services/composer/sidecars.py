"""Subtitle sidecars of the spoken words: SRT and WebVTT, one cue per caption line.

The cues are the burned-in caption lines (`captions.caption_lines`), so a platform that shows
its own captions from the sidecar shows what the video shows, at the same times.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.composer.captions import Word, caption_lines, line_spans

SRT_MIME = "application/x-subrip"
VTT_MIME = "text/vtt"


def srt(words: Sequence[Word]) -> str:
    blocks = [
        f"{number}\n{_time(start_s, ',')} --> {_time(end_s, ',')}\n{text}\n"
        for number, (start_s, end_s, text) in enumerate(_cues(words), start=1)
    ]
    return "\n".join(blocks)


def webvtt(words: Sequence[Word]) -> str:
    blocks = [
        f"{_time(start_s, '.')} --> {_time(end_s, '.')}\n{text}\n"
        for start_s, end_s, text in _cues(words)
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def _cues(words: Sequence[Word]) -> list[tuple[float, float, str]]:
    lines = caption_lines(words)
    return [
        (start_s, end_s, " ".join(w.text for w in line))
        for line, (start_s, end_s) in zip(lines, line_spans(lines), strict=True)
    ]


def _time(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, milli = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{milli:03d}"
