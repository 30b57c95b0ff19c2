"""The end card's picture: the brand's colours, product, logo, headline and call-to-action
button, drawn with Pillow at the output size.

Layout: one centred column inside the platform's safe zone (``platforms.py``) — product photo,
logo, headline, button — each shrunk until the column fits the zone, so nothing sits under the
platform's buttons. The background is the palette's first colour, the button its second (else
the text colour); text is black or white, whichever contrasts more with what is behind it.
The card is opaque: ``overlays.py`` fades it in over the last clip, which plays on under the
fade (the ad's length and sound are unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from services.composer.brand_images import fitted

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom

BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)
# Shares of the safe zone's height each element may take at most.
_PRODUCT_SHARE = 0.38
_LOGO_SHARE, _LOGO_ALONE_SHARE = 0.16, 0.3  # with / without a product above it
_LOGO_WIDTH = 0.7
# Type sizes as fractions of the safe zone's width; lines wrap within its width.
_HEADLINE_EM, _BUTTON_EM = 0.1, 0.065
_MAX_HEADLINE_LINES = 3
_GAP = 0.045  # between elements, fraction of the zone's height
_TEXT_WIDTH = 0.92  # text keeps off the zone's edges (anti-aliasing, the encoder's blur)
_SHRINK = 0.9  # each try when the column does not fit


@dataclass(frozen=True)
class CardContent:
    """What the card shows, resolved: images loaded, fonts as files, colours as RGB."""

    headline: str
    call_to_action: str
    background: RGB
    button: RGB | None  # None: the text colour
    heading_font: Path
    body_font: Path
    logo: Image.Image | None = None
    product: Image.Image | None = None


def hex_rgb(colour: str) -> RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: RGB) -> float:
    """Relative luminance (WCAG), 0 black – 1 white."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def text_colour(background: RGB) -> RGB:
    """Black or white, whichever has the higher WCAG contrast ratio on ``background``."""
    lum = _luminance(background)
    return BLACK if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else WHITE


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap at spaces; a single word wider than ``width`` stays on its own line."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


@dataclass(frozen=True)
class _Text:
    lines: list[str]
    font: ImageFont.FreeTypeFont
    line_height: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def _fitted_text(text: str, font_file: Path, size: float, width: float, max_lines: int) -> _Text:
    """``text`` wrapped to ``width`` in the largest size ≤ ``size`` whose lines all fit."""
    while True:
        font = ImageFont.truetype(str(font_file), max(6, round(size)))
        lines = _wrap(text, font, width)
        fits = all(font.getlength(line) <= width for line in lines) and len(lines) <= max_lines
        if fits or size <= 6:
            return _Text(lines, font, round(font.size * 1.2))
        size *= _SHRINK


@dataclass(frozen=True)
class _Column:
    """The card's elements at one scale, top to bottom, and the column's total height."""

    product: Image.Image | None
    logo: Image.Image | None
    headline: _Text | None
    button: _Text | None
    gap: int

    def heights(self) -> list[int]:
        heights = [img.height for img in (self.product, self.logo) if img is not None]
        if self.headline is not None:
            heights.append(self.headline.height)
        if self.button is not None:
            heights.append(_button_height(self.button))
        return heights

    @property
    def height(self) -> int:
        heights = self.heights()
        return sum(heights) + self.gap * max(0, len(heights) - 1)


def _button_height(text: _Text) -> int:
    return text.height + round(text.font.size)


def _column(content: CardContent, zone: Box, scale: float) -> _Column:
    left, top, right, bottom = zone
    width, height = right - left, bottom - top
    product = logo = None
    if content.product is not None:
        product = fitted(content.product, width * scale, height * _PRODUCT_SHARE * scale)
    if content.logo is not None:
        share = _LOGO_SHARE if product is not None else _LOGO_ALONE_SHARE
        logo = fitted(content.logo, width * _LOGO_WIDTH * scale, height * share * scale)
    headline = button = None
    text_width = width * _TEXT_WIDTH
    if content.headline.strip():
        size = text_width * _HEADLINE_EM * scale
        headline = _fitted_text(
            content.headline, content.heading_font, size, text_width, _MAX_HEADLINE_LINES
        )
    if content.call_to_action.strip():
        # The button's own padding (half an em each side) comes out of the text's width.
        size = text_width * _BUTTON_EM * scale
        button = _fitted_text(content.call_to_action, content.body_font, size, text_width - size, 2)
    return _Column(product, logo, headline, button, round(height * _GAP * scale))


def _draw_text(
    draw: ImageDraw.ImageDraw, text: _Text, centre_x: float, top: float, fill: RGB
) -> None:
    for index, line in enumerate(text.lines):
        y = top + index * text.line_height + text.line_height / 2
        draw.text((centre_x, y), line, font=text.font, fill=fill, anchor="mm")


def draw_card(content: CardContent, size: tuple[int, int], zone: Box) -> Image.Image:
    """The card as an opaque RGBA image of ``size``, its column centred in ``zone``."""
    scale = 1.0
    column = _column(content, zone, scale)
    while column.height > zone[3] - zone[1] and scale > 0.2:
        scale *= _SHRINK
        column = _column(content, zone, scale)
    card = Image.new("RGBA", size, (*content.background, 255))
    draw = ImageDraw.Draw(card)
    ink = text_colour(content.background)
    centre_x = (zone[0] + zone[2]) / 2
    y = (zone[1] + zone[3] - column.height) / 2
    for img in (column.product, column.logo):
        if img is not None:
            card.alpha_composite(img, (round(centre_x - img.width / 2), round(y)))
            y += img.height + column.gap
    if column.headline is not None:
        _draw_text(draw, column.headline, centre_x, y, ink)
        y += column.headline.height + column.gap
    if column.button is not None:
        _draw_button(draw, column.button, centre_x, y, content.button or ink)
    return card


def _draw_button(
    draw: ImageDraw.ImageDraw, text: _Text, centre_x: float, top: float, colour: RGB
) -> None:
    """A pill of ``colour`` around the call to action, its text in the contrasting colour."""
    pad = text.font.size / 2
    width = max(text.font.getlength(line) for line in text.lines) + 2 * pad
    height = _button_height(text)
    box = (centre_x - width / 2, top, centre_x + width / 2, top + height)
    draw.rounded_rectangle(box, radius=min(height / 2, text.font.size), fill=colour)
    _draw_text(draw, text, centre_x, top + pad, text_colour(colour))


def palette_colours(palette: Sequence[str]) -> tuple[RGB, RGB | None]:
    """(background, button) from ``#RRGGBB`` strings: black and the text colour by default."""
    background = hex_rgb(palette[0]) if palette else BLACK
    button = hex_rgb(palette[1]) if len(palette) > 1 else None
    return background, button
