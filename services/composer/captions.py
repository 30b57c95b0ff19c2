"""Burned-in captions as an ASS document for libass (FFmpeg's ``ass`` filter, same render pass).

Two modes: **words** (the voice-over's words in short lines, the spoken word highlighted —
the "active word" style ad viewers expect) when word timings exist, else **scenes** (each
scene's caption over its span). The style's margins put every line inside the platform's
safe zone (`platforms.py`): libass wraps text within MarginL/MarginR and sits the bottom line
MarginV above the bottom edge, so the zone is enforced by the renderer, not estimated here.
"""

from __future__ import annotations

import functools
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageFont

from services.composer.platforms import Platform

# A caption line holds at most this many words, and breaks at a pause longer than _BREAK_S:
# short lines are read at a glance while the voice goes on.
_MAX_WORDS = 4
_BREAK_S = 0.6
# A line stays up this long after its last word ends, unless the next line starts sooner.
_HOLD_S = 0.4
# Inner margin inside the safe zone, as a fraction of the frame height.
_PADDING = 0.015
# Narrower than this a word is unreadable: it may then touch the zone's edge.
_MIN_SCALE = 40
# DejaVu Sans Bold's average advance, in ems, when the font file cannot be measured.
_FALLBACK_EM = 0.7


@dataclass(frozen=True)
class TimedText:
    """Text and its span in the ad's timeline, seconds: a spoken word, or a scene's caption."""

    text: str
    start_s: float
    end_s: float


Word = TimedText
SceneCaption = TimedText


@dataclass(frozen=True)
class CaptionStyle:
    """Colours as ``#RRGGBB``; sizes as fractions of the frame height (so any size renders alike)."""

    font: str = "DejaVu Sans"
    size: float = 0.05
    colour: str = "#FFFFFF"
    highlight: str = "#FFD400"
    outline: str = "#000000"
    outline_width: float = 0.005
    bold: bool = True
    uppercase: bool = False
    # The brand's font file (its family is ``font``): measured directly, and libass finds it
    # through the ``ass`` filter's fontsdir (overlays.burn_captions) instead of fontconfig.
    font_file: str = ""


def caption_lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into lines: at most _MAX_WORDS each, a new line after a pause."""
    lines: list[list[Word]] = []
    for word in words:
        current = lines[-1] if lines else None
        if (
            current is None
            or len(current) >= _MAX_WORDS
            or word.start_s - current[-1].end_s > _BREAK_S
        ):
            lines.append([word])
        else:
            current.append(word)
    return lines


def words_document(
    words: Sequence[Word],
    width: int,
    height: int,
    platform: Platform,
    style: CaptionStyle,
    until_s: float = math.inf,
) -> str:
    """One event per spoken word: its whole line, that word in the highlight colour. Nothing
    shows from ``until_s`` on (the end card's start)."""
    words = [Word(w.text, w.start_s, min(w.end_s, until_s)) for w in words if w.start_s < until_s]
    lines = caption_lines(words)
    fit = _WordFit(width, height, platform, style)
    events = []
    for line, (_start_s, line_end) in zip(lines, line_spans(lines), strict=True):
        scale = fit.scale([w.text for w in line])
        line_end = min(line_end, until_s)
        for position, word in enumerate(line):
            end_s = line[position + 1].start_s if position + 1 < len(line) else line_end
            text = " ".join(
                _highlighted(w.text, style) if i == position else _escape(w.text, style)
                for i, w in enumerate(line)
            )
            events.append(_dialogue(word.start_s, end_s, scale + text))
    return _document(width, height, platform, style, events)


def scenes_document(
    captions: Sequence[SceneCaption],
    width: int,
    height: int,
    platform: Platform,
    style: CaptionStyle,
) -> str:
    """Each scene's caption over its span; empty captions show nothing."""
    fit = _WordFit(width, height, platform, style)
    events = [
        _dialogue(c.start_s, c.end_s, fit.scale(c.text.split()) + _escape(c.text, style))
        for c in captions
        if c.text.strip()
    ]
    return _document(width, height, platform, style, events)


def line_spans(lines: Sequence[Sequence[Word]]) -> list[tuple[float, float]]:
    """When each line shows: from its first word to _HOLD_S after its last, cut short by the
    next line (lines never overlap)."""
    spans = []
    for index, line in enumerate(lines):
        held = line[-1].end_s + _HOLD_S
        if index + 1 < len(lines):
            held = min(held, max(line[-1].end_s, lines[index + 1][0].start_s))
        spans.append((line[0].start_s, held))
    return spans


def _text_box(width: int, height: int, platform: Platform) -> tuple[int, int, int]:
    """(left, right, bottom) of the text: the safe zone less a padding, because the outline's
    anti-aliasing and the encoder's blur (4:2:0 chroma, transform blocks) spread a few pixels
    past the glyphs."""
    left, _top, right, bottom = platform.safe_box(width, height)
    pad = round(_PADDING * height)
    return left + pad, right - pad, bottom - pad


class _WordFit:
    """libass wraps lines at spaces only: a word wider than the zone (a URL, a long brand name)
    would run past both edges. Such a line is drawn narrower (``\\fscx``) until its widest
    word fits, measured with the style's font (DejaVu metrics when the font is not found)."""

    def __init__(self, width: int, height: int, platform: Platform, style: CaptionStyle) -> None:
        left, right, _bottom = _text_box(width, height, platform)
        self._room = right - left
        self._style = style
        self._size = round(style.size * height)
        self._font = _font(style, self._size)

    def scale(self, words: Sequence[str]) -> str:
        widest = max((self._width(w) for w in words), default=0.0)
        if widest <= self._room:
            return ""
        percent = max(_MIN_SCALE, math.floor(100 * self._room / widest))
        return f"{{\\fscx{percent}\\fscy{percent}}}"

    def _width(self, word: str) -> float:
        text = word.upper() if self._style.uppercase else word
        # Outline on both sides, plus the highlight's bold glyphs.
        outline = 2 * max(1, round(self._style.outline_width * self._size / self._style.size))
        if self._font is None:
            return len(text) * _FALLBACK_EM * self._size + outline
        return float(self._font.getlength(text)) + outline


def _font(style: CaptionStyle, size: int) -> ImageFont.FreeTypeFont | None:
    """The style's font file, else the font fontconfig (which libass uses too) resolves;
    None if neither opens."""
    found = style.font_file or matched_font_file(f"{style.font}:bold" if style.bold else style.font)
    try:
        return ImageFont.truetype(found, size) if found else None
    except OSError:
        return None


@functools.cache
def matched_font_file(pattern: str) -> str:
    """Asked once per pattern and process: renders run on the event loop, and fontconfig's
    answer does not change while the service runs."""
    try:
        return subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _document(
    width: int, height: int, platform: Platform, style: CaptionStyle, events: list[str]
) -> str:
    left, right, bottom = _text_box(width, height, platform)
    fields = [
        "Default",
        style.font,
        str(round(style.size * height)),
        _ass_colour(style.colour),
        _ass_colour(style.highlight),
        _ass_colour(style.outline),
        "&H80000000",
        "-1" if style.bold else "0",
        "0,0,0,100,100,0,0,1",  # italic, underline, strike-out, scale x/y, spacing, angle, outline+shadow
        str(_outline_px(style.outline_width, height)),
        "0",  # shadow
        "2",  # bottom centre
        str(left),
        str(width - right),
        str(height - bottom),
        "1",
    ]
    return "\n".join(
        [
            "[Script Info]",
            "ScriptType: v4.00+",
            f"PlayResX: {width}",
            f"PlayResY: {height}",
            "WrapStyle: 0",
            "ScaledBorderAndShadow: yes",
            "",
            "[V4+ Styles]",
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
            "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
            "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
            "Style: " + ",".join(fields),
            "",
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
            *events,
            "",
        ]
    )


def _outline_px(width: float, height: int) -> int:
    """At least one pixel when an outline is asked for at all; 0 means none."""
    return max(1, round(width * height)) if width > 0 else 0


def _dialogue(start_s: float, end_s: float, text: str) -> str:
    return f"Dialogue: 0,{_ass_time(start_s)},{_ass_time(end_s)},Default,,0,0,0,,{text}"


def _highlighted(text: str, style: CaptionStyle) -> str:
    # Back to the text colour, not ``\\r``: a reset would also drop the line's fitted scale.
    highlight, colour = _ass_colour(style.highlight), _ass_colour(style.colour)
    return f"{{\\c{highlight}}}{_escape(text, style)}{{\\c{colour}}}"


def _escape(text: str, style: CaptionStyle) -> str:
    """Text cannot carry override tags: braces and backslashes are what libass would parse."""
    cleaned = text.replace("\\", "/").replace("{", "(").replace("}", ")").replace("\n", " ")
    return cleaned.upper() if style.uppercase else cleaned


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    secs, centi = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centi:02d}"


def _ass_colour(hex_colour: str) -> str:
    """``#RRGGBB`` → ASS ``&H00BBGGRR`` (alpha 00 = opaque)."""
    red, green, blue = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"&H00{blue}{green}{red}".upper()
