"""The brand's files for the end card, watermark and captions: logos and product photos as RGBA
images, fonts as TrueType/OpenType faces.

SVG logos are rasterised at the width they are drawn at by ``reelforge.runtime.svg`` (FFmpeg's
librsvg decoder, from memory: nothing an SVG refers to is loaded). Every refusal names the
request's field, as an input's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFont, ImageOps, UnidentifiedImageError

from reelforge.runtime.svg import SvgError, is_svg, rasterise_svg
from services.composer.render_errors import RenderFailed

# A decoded 8192² RGBA is 256 MB; uploads are limited to the same budget (gateway/uploads.py).
_MAX_SOURCE_PIXELS = 40_000_000
_RASTER_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})


@dataclass(frozen=True)
class FontFile:
    """A font file and the family name it declares (what libass and ASS styles match on)."""

    path: Path
    family: str


def _rasterised(path: Path, field: str, width: int, scratch: Path) -> Path:
    """The SVG drawn ``width`` pixels wide (aspect kept) as a transparent PNG in ``scratch``
    (never beside an artifact in the store)."""
    png = scratch / f"{field.replace('.', '-')}.{width}.png"
    try:
        return rasterise_svg(path, width, png)
    except SvgError as error:
        raise RenderFailed.at(field, str(error)) from None


def load_image(path: Path, field: str, width: int, scratch: Path) -> Image.Image:
    """A PNG, JPEG, WebP or SVG file as upright RGBA; an SVG is drawn ``width`` px wide."""
    source = _rasterised(path, field, max(1, width), scratch) if is_svg(path) else path
    try:
        with Image.open(source) as img:
            if img.format not in _RASTER_FORMATS:
                raise RenderFailed.at(field, f"a {img.format} image; PNG, JPEG, WebP or SVG needed")
            if img.width * img.height > _MAX_SOURCE_PIXELS:
                raise RenderFailed.at(field, f"{img.width}×{img.height} px is too large")
            return ImageOps.exif_transpose(img).convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise RenderFailed.at(field, "not a PNG, JPEG, WebP or SVG image") from None


def load_font(path: Path, field: str) -> FontFile:
    """A TTF/OTF file that FreeType opens, with its family name."""
    try:
        face = ImageFont.truetype(str(path), 16)
    except OSError:
        raise RenderFailed.at(field, "not a TrueType or OpenType font") from None
    family, _style = face.getname()
    if not family:
        raise RenderFailed.at(field, "the font declares no family name")
    return FontFile(path, family)


def fitted(img: Image.Image, width: float, height: float) -> Image.Image:
    """``img`` scaled (up or down) to fit ``width``×``height``, aspect kept."""
    scale = min(width / img.width, height / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)
