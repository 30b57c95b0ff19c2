"""The brand's files for the end card, watermark and captions: logos and product photos as RGBA
images, fonts as TrueType/OpenType faces.

SVG logos are rasterised by FFmpeg's librsvg decoder (Debian's FFmpeg is built with it, and
FFmpeg is already the composer's one system dependency), at the width they are drawn at, so
they stay sharp and keep their transparency; no cairo or other rasteriser is added. The
decoder renders the document from memory with no base file, so librsvg loads nothing an SVG
refers to (``file:`` or relative images stay blank: an upload cannot read the server's files).
Every
refusal names the request's field, as an input's does.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFont, ImageOps, UnidentifiedImageError

from services.composer.render_errors import RenderFailed

# A decoded 8192² RGBA is 256 MB; uploads are limited to the same budget (gateway/uploads.py).
_MAX_SOURCE_PIXELS = 40_000_000
_RASTER_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
_SVG_SNIFF_BYTES = 16384  # an exporter's comments and DOCTYPE come before <svg
_SVG_TIMEOUT_S = 30


@dataclass(frozen=True)
class FontFile:
    """A font file and the family name it declares (what libass and ASS styles match on)."""

    path: Path
    family: str


def is_svg(path: Path) -> bool:
    """An SVG document starts with an XML prolog, a comment or ``<svg`` itself."""
    with path.open("rb") as file:
        head = file.read(_SVG_SNIFF_BYTES).lower()
    return b"<svg" in head


def _rasterised(path: Path, field: str, width: int, scratch: Path) -> Path:
    """The SVG drawn ``width`` pixels wide (aspect kept) as a transparent PNG in ``scratch``
    (never beside an artifact in the store)."""
    png = scratch / f"{field.replace('.', '-')}.{width}.png"
    # The store keeps no file name extension: the demuxer is named, not guessed.
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "svg_pipe"]
    argv += ["-width", str(width), "-keep_ar", "1"]
    argv += ["-i", str(path), "-frames:v", "1", str(png)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_SVG_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as error:
        raise RenderFailed.at(field, f"the SVG could not be rasterised ({error})") from None
    if done.returncode != 0 or not png.exists():
        detail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RenderFailed.at(field, f"not a readable SVG ({detail[0][:200]})")
    return png


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
