"""Brand layers of an animatic still: the product photo as the hero and the logo in a safe corner.

A product with transparency is cut out by its own alpha channel (its background removed) and
stands on a soft glow in the palette; an opaque photo is framed in the palette's lightest
colour. Both cast a drop shadow. The logo sits in the top-left corner, inside every 9:16
platform's safe zone and inside the part of the frame the clip moves keep in view.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from reelforge.runtime.svg import SvgError, is_svg, rasterise_svg
from services.generator.animatic._common import RGB, RenderError, luminance, mix

# Uploads are limited to the same budget (gateway/uploads.py); a decoded 8192² RGBA is 256 MB.
_MAX_SOURCE_PIXELS = 40_000_000
_RASTER_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
# An alpha this low counts as background when trimming a cut-out to its visible pixels.
_ALPHA_TRIM = 8
# The logo's corner: TikTok's UI covers the top 13 % and right 17 % (services/composer/
# platforms.py, the strictest 9:16 placement); the clip moves (≤ 1.2× zoom, clips.py) keep the
# middle 76 % of the width in view. So the logo starts 12 % from the left and 14 % from the top.
LOGO_LEFT, LOGO_TOP = 0.12, 0.14
LOGO_MAX_WIDTH, LOGO_MAX_HEIGHT = 0.26, 0.065
# The product's stage: below the logo's row, within the middle 76 % of the width.
PRODUCT_LEFT, PRODUCT_RIGHT, PRODUCT_TOP = 0.12, 0.88, 0.225


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def load_raster(path: Path, what: str, width: int) -> Image.Image:
    """A PNG, JPEG, WebP or SVG file as RGBA, upright (EXIF orientation applied).

    An SVG is rasterised ``width`` pixels wide (the most it is drawn at, so it stays sharp) by
    ``reelforge.runtime.svg``, transparency kept; it loads nothing the SVG refers to.
    """
    with tempfile.TemporaryDirectory(prefix="animatic-svg-") as scratch:
        source = path
        if is_svg(path):
            try:
                source = rasterise_svg(path, width, Path(scratch) / "svg.png")
            except SvgError as error:
                raise RenderError(f"{what}: {error}") from None
        try:
            with Image.open(source) as img:
                if img.format not in _RASTER_FORMATS:
                    raise RenderError(
                        f"{what}: a {img.format} image; the animatic reads PNG, JPEG, WebP or SVG"
                    )
                if img.width * img.height > _MAX_SOURCE_PIXELS:
                    raise RenderError(f"{what}: {img.width}×{img.height} px is too large")
                return ImageOps.exif_transpose(img).convert("RGBA")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise RenderError(f"{what}: not a PNG, JPEG, WebP or SVG image") from None


def has_transparency(img: Image.Image) -> bool:
    """Whether any pixel of an RGBA image is not fully opaque (a cut-out, not a photo)."""
    return bool(np.asarray(img.getchannel("A")).min() < 255)


def _visible(img: Image.Image) -> Image.Image:
    """A cut-out trimmed to its visible pixels, so empty margins do not shrink it on stage."""
    bbox = img.getchannel("A").point(lambda a: 255 if a > _ALPHA_TRIM else 0).getbbox()
    return img.crop(bbox) if bbox else img


def _fit(img: Image.Image, width: float, height: float) -> Image.Image:
    """``img`` scaled (up or down) to fit ``width``×``height``; RGBA resizes premultiplied, so
    a cut-out's transparent background never bleeds into its edge."""
    scale = min(width / img.width, height / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _shadow(
    size: tuple[int, int], alpha: Image.Image, at: tuple[int, int], blur: float
) -> Image.Image:
    """A soft black shadow of ``alpha`` placed at ``at`` on a transparent frame."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    layer.paste((0, 0, 0, 255), at, alpha.point(lambda a: a * 100 // 255))
    return layer.filter(ImageFilter.GaussianBlur(radius=max(1.0, blur)))


def _framed(photo: Image.Image, colour: RGB, border: int) -> Image.Image:
    """An opaque photo on a card of ``colour`` with rounded corners."""
    card = Image.new("RGBA", (photo.width + 2 * border, photo.height + 2 * border), (0, 0, 0, 0))
    ImageDraw.Draw(card).rounded_rectangle(
        (0, 0, card.width - 1, card.height - 1), radius=border * 2, fill=(*colour, 255)
    )
    card.alpha_composite(photo.convert("RGBA"), (border, border))
    return card


def product_layer(
    size: tuple[int, int],
    product: Image.Image,
    stage_bottom: float,
    colours: Sequence[RGB],
    rng: random.Random,
) -> Image.Image:
    """The product as the frame's hero, on a transparent ``size`` frame: centred (± a little,
    from ``rng``) between the logo's row and ``stage_bottom`` (a fraction of the height)."""
    width, height = size
    stage = Box(
        width * PRODUCT_LEFT, height * PRODUCT_TOP, width * PRODUCT_RIGHT, height * stage_bottom
    )
    scale = rng.uniform(0.86, 1.0)
    lightest = max(colours, key=luminance)
    cutout = has_transparency(product)
    if cutout:
        hero = _fit(_visible(product), stage.width * scale, stage.height * scale)
    else:
        border = max(2, round(min(width, height) * 0.018))
        photo = _fit(product, stage.width * scale - 2 * border, stage.height * scale - 2 * border)
        hero = _framed(photo, lightest, border)
    slack_x, slack_y = stage.width - hero.width, stage.height - hero.height
    left = round(stage.left + slack_x * rng.uniform(0.3, 0.7))
    top = round(stage.top + slack_y * rng.uniform(0.35, 0.65))
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    if cutout:  # A glow in the palette behind it, so the cut-out sits in the scene.
        glow = Image.new("RGBA", size, (0, 0, 0, 0))
        pad_x, pad_y = hero.width * 0.2, hero.height * 0.12
        ImageDraw.Draw(glow).ellipse(
            (left - pad_x, top - pad_y, left + hero.width + pad_x, top + hero.height + pad_y),
            fill=(*lightest, 110),
        )
        layer = glow.filter(ImageFilter.GaussianBlur(radius=max(1.0, width * 0.06)))
    offset = max(1, round(width * 0.012))
    shadow = _shadow(size, hero.getchannel("A"), (left + offset, top + 2 * offset), width * 0.015)
    layer.alpha_composite(shadow)
    layer.alpha_composite(hero, (left, top))
    return layer


def logo_layer(size: tuple[int, int], logo: Image.Image, colours: Sequence[RGB]) -> Image.Image:
    """The logo in the top-left safe corner, on a transparent ``size`` frame.

    A transparent logo gets a rounded plate that contrasts with its own colours (a light plate
    behind a dark logo, a dark one behind a light logo), so it reads over any background.
    """
    width, height = size
    cutout = has_transparency(logo)
    mark = _fit(
        _visible(logo) if cutout else logo, width * LOGO_MAX_WIDTH, height * LOGO_MAX_HEIGHT
    )
    left, top = round(width * LOGO_LEFT), round(height * LOGO_TOP)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    if cutout:
        pad = max(2, round(mark.height * 0.22))
        dark_mark = _mean_lightness(mark) < 0.5
        plate = max(colours, key=luminance) if dark_mark else min(colours, key=luminance)
        plate = mix(plate, (255, 255, 255) if dark_mark else (0, 0, 0), 0.7)
        ImageDraw.Draw(layer).rounded_rectangle(
            (left - pad, top - pad, left + mark.width + pad, top + mark.height + pad),
            radius=pad,
            fill=(*plate, 215),
        )
    layer.alpha_composite(mark, (left, top))
    return layer


def _mean_lightness(img: Image.Image) -> float:
    """Mean grey level (0–1) of an RGBA image's visible pixels, weighted by their alpha."""
    grey = np.asarray(img.convert("L"), dtype=np.float64)
    alpha = np.asarray(img.getchannel("A"), dtype=np.float64)
    weight = float(alpha.sum())
    return float((grey * alpha).sum()) / weight / 255 if weight else 0.0


def product_width(frame_width: int) -> int:
    """The most pixels wide a product is drawn in a frame (its stage's width)."""
    return max(1, round(frame_width * (PRODUCT_RIGHT - PRODUCT_LEFT)))


def logo_width(frame_width: int) -> int:
    """The most pixels wide a logo is drawn in a frame."""
    return max(1, round(frame_width * LOGO_MAX_WIDTH))
