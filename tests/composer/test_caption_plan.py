"""What a request's voice words and captions become on the timeline: ad-time words, scene
caption spans, the default mode and platform, the style, and the meter's report."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reelforge.runtime.media import MediaInfo
from reelforge.v1 import common_pb2
from reelforge.v1 import composer_pb2 as S
from services.composer.caption_plan import (
    caption_mode,
    caption_style,
    platform,
    scene_captions,
    spoken_words,
)
from services.composer.captions import CaptionStyle, Word
from services.composer.loudness import SILENCE_LUFS, parse_report
from services.composer.timeline import ProbedInput, Segment, Timeline


def _words(*spans: tuple[str, float, float]) -> list[common_pb2.WordTiming]:
    return [common_pb2.WordTiming(word=w, start_seconds=a, end_seconds=b) for w, a, b in spans]


def test_words_move_to_ad_time_in_order_and_stop_at_the_end() -> None:
    voices = [
        S.VoiceInput(start_seconds=4.0, words=_words(("Shop", 0.0, 0.3), ("now", 0.3, 1.5))),
        S.VoiceInput(start_seconds=0.5, words=_words(("Meet", 0.1, 0.4))),
        S.VoiceInput(start_seconds=5.0, words=_words(("late", 0.2, 0.5))),  # starts at 5.2
    ]
    assert spoken_words(voices, total_s=5.0) == [
        Word("Meet", 0.6, 0.9),
        Word("Shop", 4.0, 4.3),
        Word("now", 4.3, 5.0),  # cut at the ad's end
    ]


def test_scene_captions_split_each_crossfade_at_its_middle() -> None:
    info = MediaInfo(size_bytes=1, duration_seconds=3.0, format_name="mp4", video_codec="h264")
    clip = ProbedInput("clips[0]", Path("c.mp4"), info)
    timeline = Timeline([Segment(clip, 2.0), Segment(clip, 3.0), Segment(clip, 2.0)], 0.5)
    clips = [S.ClipInput(caption=text) for text in ("one", "two", "")]

    spans = [(c.text, c.start_s, c.end_s) for c in scene_captions(clips, timeline)]

    assert spans == [("one", 0.0, 1.75), ("two", 1.75, 4.25), ("", 4.25, 6.0)]
    assert timeline.total_s == 6.0


def test_default_mode_prefers_words_then_scene_captions() -> None:
    words = S.ComposeRequest(voice=[S.VoiceInput(words=_words(("Hi", 0, 1)))])
    scenes = S.ComposeRequest(clips=[S.ClipInput(caption="Meet Lumen")])
    neither = S.ComposeRequest(clips=[S.ClipInput()], voice=[S.VoiceInput()])
    asked = S.ComposeRequest(captions=S.CaptionOptions(mode=S.CAPTION_MODE_OFF))
    asked.voice.add().words.extend(_words(("Hi", 0, 1)))

    assert caption_mode(words) == S.CAPTION_MODE_WORDS
    assert caption_mode(scenes) == S.CAPTION_MODE_SCENES
    assert caption_mode(neither) == S.CAPTION_MODE_OFF
    assert caption_mode(asked) == S.CAPTION_MODE_OFF


@pytest.mark.parametrize(
    ("aspect", "name", "expected"),
    [
        (common_pb2.ASPECT_RATIO_UNSPECIFIED, "", "tiktok"),
        (common_pb2.ASPECT_RATIO_16_9, "", "landscape"),
        (common_pb2.ASPECT_RATIO_1_1, "", "square"),
        (common_pb2.ASPECT_RATIO_9_16, "reels", "reels"),
    ],
)
def test_platform_defaults_to_the_ads_shape(
    aspect: common_pb2.AspectRatio.ValueType, name: str, expected: str
) -> None:
    assert platform(S.ComposeRequest(aspect_ratio=aspect, platform=name)).name == expected


def test_style_keeps_defaults_for_empty_fields() -> None:
    assert caption_style(S.CaptionStyle()) == CaptionStyle()
    custom = caption_style(
        S.CaptionStyle(font="Liberation Sans", colour="#00FF00", outline=0.0, uppercase=True)
    )
    assert (custom.font, custom.colour, custom.outline_width, custom.uppercase) == (
        "Liberation Sans",
        "#00FF00",
        0.0,
        True,
    )
    assert custom.highlight == CaptionStyle().highlight


def test_meter_report_reads_the_last_values() -> None:
    report = "\n".join(
        [
            "frame:0    pts:0       pts_time:0",
            "lavfi.r128.I=-30.000",
            "lavfi.r128.LRA=0.000",
            "lavfi.r128.true_peak=0.100",
            "frame:1    pts:4800    pts_time:0.1",
            "lavfi.r128.I=-18.250",
            "lavfi.r128.LRA=2.500",
            "lavfi.r128.true_peak=0.500",
        ]
    )
    found = parse_report(report)
    assert (found.integrated_lufs, found.range_lu) == (-18.25, 2.5)
    assert found.true_peak_db == pytest.approx(20 * math.log10(0.5))
    silent = parse_report("")
    assert silent.silent and silent.integrated_lufs == SILENCE_LUFS
