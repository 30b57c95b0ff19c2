"""Captions: burned in by libass inside the platform's safe zone (pixels compared with a
caption-free frame), the spoken word highlighted, and SRT/WebVTT sidecars that FFmpeg's own
subtitle demuxers read back with the same cue times."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from reelforge.v1 import composer_pb2
from services.composer.brand_images import FontFile, load_font
from services.composer.caption_plan import caption_style
from services.composer.captions import (
    CaptionStyle,
    SceneCaption,
    Word,
    caption_lines,
    matched_font_file,
    scenes_document,
    words_document,
)
from services.composer.platforms import PLATFORMS
from services.composer.sidecars import srt, webvtt
from tests.composer.media import subtitle_cues

_W, _H = 180, 320
_WORDS = [
    Word("Meet", 0.10, 0.40),
    Word("Lumen", 0.40, 0.90),
    Word("the", 1.60, 1.75),  # a pause before: a new line
    Word("bottle", 1.75, 2.10),
    Word("that", 2.10, 2.30),
    Word("cleans", 2.30, 2.70),
    Word("itself", 2.70, 3.20),  # a fifth word in a row: a new line
]


def _frame(ass: Path | None, at_s: float, fonts_dir: Path | None = None) -> np.ndarray:
    """One RGB frame at ``at_s`` of a mid-grey 180×320 video, with the ASS burned in (libass
    also searching ``fonts_dir``, as ``overlays.burn_captions`` asks it to)."""
    chain = "" if ass is None else f",ass=filename={ass}"
    if fonts_dir is not None:
        chain += f":fontsdir={fonts_dir}"
    raw = subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi",
            "-i", f"color=c=0x808080:size={_W}x{_H}:rate=10:duration=4",
            "-vf", f"format=rgb24{chain}", "-ss", str(at_s), "-frames:v", "1",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(_H, _W, 3).astype(int)


def _changed(ass: Path, at_s: float) -> np.ndarray:
    difference: np.ndarray = np.abs(_frame(ass, at_s) - _frame(None, at_s)).sum(axis=2)
    return difference > 30


@pytest.mark.parametrize("platform", ["tiktok", "reels"])
def test_word_captions_are_burned_inside_the_safe_zone(tmp_path: Path, platform: str) -> None:
    place = PLATFORMS[platform]
    ass = tmp_path / "captions.ass"
    ass.write_text(words_document(_WORDS, _W, _H, place, CaptionStyle()))

    changed = _changed(ass, 0.5)  # "Lumen" is being spoken
    rows, cols = np.nonzero(changed)
    assert len(rows) > 50, "no caption was drawn"
    left, top, right, bottom = place.safe_box(_W, _H)
    assert rows.min() >= top and rows.max() < bottom, (rows.min(), rows.max(), top, bottom)
    assert cols.min() >= left and cols.max() < right, (cols.min(), cols.max(), left, right)
    assert not _changed(ass, 1.3).any(), "a line stays up only briefly after its last word"


def test_a_missing_font_falls_back_to_one_that_exists(tmp_path: Path) -> None:
    ass = tmp_path / "captions.ass"
    style = CaptionStyle(font="No Such Font Family")
    ass.write_text(words_document(_WORDS, _W, _H, PLATFORMS["tiktok"], style))

    assert _changed(ass, 0.5).sum() > 50, "fontconfig's fallback font draws the caption"


def test_the_spoken_word_is_highlighted(tmp_path: Path) -> None:
    ass = tmp_path / "captions.ass"
    style = CaptionStyle(colour="#FFFFFF", highlight="#FFD400")
    ass.write_text(words_document(_WORDS, _W, _H, PLATFORMS["tiktok"], style))

    def yellow_columns(at_s: float) -> np.ndarray:
        frame = _frame(ass, at_s)
        yellow = (frame[..., 0] > 200) & (frame[..., 1] > 170) & (frame[..., 2] < 90)
        return np.nonzero(yellow.any(axis=0))[0]

    meet, lumen = yellow_columns(0.2), yellow_columns(0.6)
    assert len(meet) and len(lumen)
    assert meet.mean() < lumen.mean(), "the highlight moves right with the spoken word"


def test_scene_captions_show_over_their_scene(tmp_path: Path) -> None:
    ass = tmp_path / "scenes.ass"
    scenes = [SceneCaption("Meet Lumen", 0.0, 2.0), SceneCaption("", 2.0, 4.0)]
    ass.write_text(scenes_document(scenes, _W, _H, PLATFORMS["shorts"], CaptionStyle()))

    assert _changed(ass, 1.0).sum() > 50
    assert not _changed(ass, 3.0).any(), "an empty caption draws nothing"


def test_lines_break_at_pauses_and_after_four_words() -> None:
    lines = caption_lines(_WORDS)
    assert [[w.text for w in line] for line in lines] == [
        ["Meet", "Lumen"],
        ["the", "bottle", "that", "cleans"],
        ["itself"],
    ]


@pytest.mark.parametrize(("render", "suffix"), [(srt, ".srt"), (webvtt, ".vtt")])
def test_sidecars_parse_with_the_voice_timings(tmp_path: Path, render, suffix) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"captions{suffix}"
    path.write_text(render(_WORDS))

    cues = subtitle_cues(path)
    lines = caption_lines(_WORDS)
    assert len(cues) == len(lines)
    frame_s = 1 / 30
    for (start, end, _data), line in zip(cues, lines, strict=True):
        assert start == pytest.approx(line[0].start_s, abs=frame_s)
        assert end >= line[-1].end_s - frame_s
    assert cues[0][1] <= cues[1][0], "cues never overlap"


@pytest.mark.parametrize("mode", ["words", "scenes"])
def test_a_word_wider_than_the_zone_is_narrowed_to_fit(tmp_path: Path, mode: str) -> None:
    """libass breaks lines at spaces only: a URL in the call to action once ran past both edges."""
    place = PLATFORMS["tiktok"]
    url = "lumenbottle.example.com/shop"
    ass = tmp_path / "long.ass"
    if mode == "words":
        words = [Word("Get", 0.1, 0.4), Word("yours", 0.4, 0.8), Word(url, 0.8, 2.0)]
        ass.write_text(words_document(words, _W, _H, place, CaptionStyle()))
    else:
        scene = SceneCaption(f"Get yours at {url}", 0.0, 2.0)
        ass.write_text(scenes_document([scene], _W, _H, place, CaptionStyle()))

    rows, cols = np.nonzero(_changed(ass, 1.0))
    assert len(rows) > 50, "no caption was drawn"
    left, top, right, bottom = place.safe_box(_W, _H)
    assert cols.min() >= left and cols.max() < right, (cols.min(), cols.max(), left, right)
    assert rows.min() >= top and rows.max() < bottom


def _brand_font(folder: Path) -> FontFile:
    """DejaVu Serif renamed "Brandz Serif": a family fontconfig does not know, so only the
    file the request brings can draw it."""
    data = Path(matched_font_file("DejaVu Serif")).read_bytes()
    data = data.replace(b"DejaVu", b"Brandz")
    data = data.replace("DejaVu".encode("utf-16-be"), "Brandz".encode("utf-16-be"))
    folder.mkdir()
    (folder / "brand.ttf").write_bytes(data)
    return load_font(folder / "brand.ttf", "captions.style.font_file")


def test_captions_are_drawn_in_the_brand_font_and_colours(tmp_path: Path) -> None:
    font = _brand_font(tmp_path / "fonts")
    asked = composer_pb2.CaptionStyle(colour="#00C8FF", highlight_colour="#FF3C00")
    place = PLATFORMS["tiktok"]

    def frame(style: CaptionStyle, name: str, fonts_dir: Path | None = None) -> np.ndarray:
        ass = tmp_path / f"{name}.ass"
        ass.write_text(words_document(_WORDS, _W, _H, place, style))
        return _frame(ass, 0.5, fonts_dir)  # "Lumen" highlighted

    brand = frame(caption_style(asked, font), "brand", font.path.parent)
    serif = frame(
        CaptionStyle(font="DejaVu Serif", bold=False, colour="#00C8FF", highlight="#FF3C00"),
        "serif",
    )
    default = frame(caption_style(asked), "default")
    unfound = frame(caption_style(asked, font), "unfound")  # without the brand's fontsdir

    def differing(a: np.ndarray, b: np.ndarray) -> int:
        return int((np.abs(a - b).sum(axis=2) > 60).sum())

    drawn = differing(brand, _frame(None, 0.5))
    assert font.family == "Brandz Serif"
    assert drawn > 300, "a caption was drawn"
    assert differing(brand, serif) < 0.02 * drawn, "the brand file's glyphs (DejaVu Serif's)"
    assert differing(brand, default) > 0.3 * drawn, "not the default font"
    assert differing(brand, unfound) > 0.3 * drawn, "found through fontsdir, not fontconfig"
    cyan = (brand[..., 0] < 90) & (brand[..., 1] > 150) & (brand[..., 2] > 200)
    orange = (brand[..., 0] > 200) & (brand[..., 1] < 120) & (brand[..., 2] < 90)
    assert cyan.sum() > 30 and orange.sum() > 30, "the text and highlight colours asked for"
