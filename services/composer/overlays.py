"""What is drawn over the joined picture besides the captions: the logo watermark and the end
card, prepared once per render as PNG files at the output size, and the FFmpeg filters that
burn them (and the captions, with the brand's font) into a picture stream.

Decisions:
- The **end card** covers the last ``end_card.duration_seconds`` (default 2.5 s) of the ad:
  it fades in over ``FADE_S`` above the last clip, which plays on under the fade, and then
  holds. It is composited in the render's one FFmpeg pass, so the ad keeps its length and its
  sound. Captions stop where it starts (``caption_plan.card_start_s``).
- The **watermark** is the logo in one corner of the platform's safe zone for the whole ad,
  at ``opacity``; the opaque end card covers it, so it never competes with the card's logo.
  Captions are drawn after it: in a bottom corner a long caption line may cross the logo, and
  the words stay on top (top right, the default, never meets them).
- Brand files (logo, product photo, fonts) are fetched like clips (artifact or URL, the
  request's field named when one is missing or unreadable); an SVG logo is rasterised at the
  size it is drawn (``brand_images.py``).

``burn_overlays`` takes an ``offset_s`` so a renderer that encodes the ad in pieces can burn
the same overlays into a piece that starts ``offset_s`` into the ad.
"""

from __future__ import annotations

import asyncio
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
from PIL import Image

from reelforge.v1 import composer_pb2
from services.composer.brand_images import FontFile, fitted, load_font, load_image
from services.composer.caption_plan import card_start_s, platform
from services.composer.captions import matched_font_file
from services.composer.end_card import CardContent, draw_card, palette_colours
from services.composer.inputs import Fetcher, fetch_files
from services.composer.platforms import Platform
from services.composer.render_errors import RenderFailed
from services.composer.streams import Stream
from services.composer.validation import DEFAULT_OPACITY, DEFAULT_WATERMARK_SIZE, card_seconds

FADE_S = 0.4  # the end card's fade-in
_CORNER_PAD = 0.02  # the watermark's distance from the safe zone's edges, fraction of the width
_MARK_MAX_HEIGHT = 0.12  # a tall logo is capped at this fraction of the frame height
_DEFAULT_CARD_FONT = "DejaVu Sans:bold"
_CORNERS = {  # (left?, top?)
    composer_pb2.CORNER_UNSPECIFIED: (False, True),
    composer_pb2.CORNER_TOP_LEFT: (True, True),
    composer_pb2.CORNER_TOP_RIGHT: (False, True),
    composer_pb2.CORNER_BOTTOM_LEFT: (True, False),
    composer_pb2.CORNER_BOTTOM_RIGHT: (False, False),
}


@dataclass(frozen=True)
class Still:
    """An RGBA PNG drawn at (x, y) on every frame."""

    image: Path
    x: int
    y: int


@dataclass(frozen=True)
class Card:
    """A full-frame PNG shown from ``start_s`` to ``end_s`` (ad time), fading in."""

    image: Path
    start_s: float
    end_s: float
    fade_s: float = FADE_S


@dataclass(frozen=True)
class Overlays:
    watermark: Still | None = None
    end_card: Card | None = None
    caption_font: FontFile | None = None  # the brand's caption font, alone in its folder


def brand_sources(request: composer_pb2.ComposeRequest) -> dict[str, str]:
    """Every brand file the request names, by the field that names it."""
    sources: dict[str, str] = {}
    if request.HasField("end_card"):
        card = request.end_card
        for name in ("logo", "product_image", "heading_font", "body_font"):
            if value := getattr(card, name):
                sources[f"end_card.{name}"] = value
    if request.HasField("watermark"):
        sources["watermark.logo"] = request.watermark.logo
    if request.captions.style.font_file:
        sources["captions.style.font_file"] = request.captions.style.font_file
    return sources


async def prepare_overlays(
    request: composer_pb2.ComposeRequest,
    fetcher: Fetcher,
    total_s: float,
    size: tuple[int, int],
    workdir: Path,
) -> Overlays:
    """The request's brand files fetched and drawn into ``workdir`` for a ``size`` picture of
    ``total_s`` seconds; RenderFailed names the field of a missing or unreadable file."""
    sources = brand_sources(request)
    if not sources and not request.HasField("end_card"):
        return Overlays()
    files = await fetch_files(fetcher, sources, workdir)
    return await asyncio.to_thread(_drawn, request, files, total_s, size, workdir)


def _drawn(
    request: composer_pb2.ComposeRequest,
    files: dict[str, Path],
    total_s: float,
    size: tuple[int, int],
    workdir: Path,
) -> Overlays:
    place = platform(request)
    font = None
    if (path := files.get("captions.style.font_file")) is not None:
        font = _alone_in_folder(load_font(path, "captions.style.font_file"), workdir / "fonts")
    mark = None
    if request.HasField("watermark"):
        mark = _watermark(request.watermark, files["watermark.logo"], size, place, workdir)
    card = None
    if request.HasField("end_card"):
        image = _card_image(request.end_card, files, size, place, workdir)
        card = Card(image, _card_start_s(request, total_s), total_s)
    return Overlays(mark, card, font)


def _card_start_s(request: composer_pb2.ComposeRequest, total_s: float) -> float:
    """Where the card starts; one longer than the probed ad fails, named (validation can
    check this only when every clip has a target duration)."""
    if (seconds := card_seconds(request.end_card)) > total_s:
        raise RenderFailed.at(
            "end_card.duration_seconds",
            f"the card ({seconds:g} s) is longer than the ad ({total_s:.2f} s)",
        )
    return card_start_s(request, total_s)


def _alone_in_folder(font: FontFile, folder: Path) -> FontFile:
    """A copy of the font in a folder of its own: libass loads every file of its fontsdir."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"brand{font.path.suffix or '.ttf'}"
    shutil.copyfile(font.path, copy)
    return FontFile(copy, font.family)


def _save(img: Image.Image, path: Path) -> Path:
    img.save(path, format="PNG", compress_level=1)  # read once by FFmpeg: speed over size
    return path


def _watermark(
    mark: composer_pb2.Watermark,
    logo_file: Path,
    size: tuple[int, int],
    place: Platform,
    workdir: Path,
) -> Still:
    width, height = size
    target = round((mark.size or DEFAULT_WATERMARK_SIZE) * width)
    logo = load_image(logo_file, "watermark.logo", target, workdir)
    logo = fitted(logo, target, height * _MARK_MAX_HEIGHT)
    opacity = mark.opacity if mark.HasField("opacity") else DEFAULT_OPACITY
    logo.putalpha(logo.getchannel("A").point(lambda a: round(a * opacity)))
    left, top, right, bottom = place.safe_box(width, height)
    pad = round(_CORNER_PAD * width)
    at_left, at_top = _CORNERS[mark.corner]
    x = left + pad if at_left else right - pad - logo.width
    y = top + pad if at_top else bottom - pad - logo.height
    return Still(_save(logo, workdir / "watermark.png"), x, y)


def _card_font(files: dict[str, Path], field: str) -> Path | None:
    path = files.get(field)
    return None if path is None else load_font(path, field).path


def _card_image(
    card: composer_pb2.EndCard,
    files: dict[str, Path],
    size: tuple[int, int],
    place: Platform,
    workdir: Path,
) -> Path:
    zone = place.safe_box(*size)
    zone_width = zone[2] - zone[0]
    images = {
        name: load_image(files[f"end_card.{name}"], f"end_card.{name}", zone_width, workdir)
        for name in ("logo", "product_image")
        if f"end_card.{name}" in files
    }
    heading = _card_font(files, "end_card.heading_font") or _default_card_font()
    background, button = palette_colours(card.palette)
    content = CardContent(
        headline=card.headline,
        call_to_action=card.call_to_action,
        background=background,
        button=button,
        heading_font=heading,
        body_font=_card_font(files, "end_card.body_font") or heading,
        logo=images.get("logo"),
        product=images.get("product_image"),
    )
    return _save(draw_card(content, size, zone), workdir / "end_card.png")


def _default_card_font() -> Path:
    found = matched_font_file(_DEFAULT_CARD_FONT)
    if not found:
        raise RenderFailed("end_card: no default font is installed (fonts-dejavu-core)")
    return Path(found)


def burn_overlays(
    video: Stream, overlays: Overlays, fps: int, frames: int, offset_s: float = 0.0
) -> Stream:
    """The watermark, then the end card, over ``video``, a picture ``frames`` long that starts
    ``offset_s`` into the ad (0 for the whole ad); the result is as long as ``video``."""
    if overlays.watermark is not None:
        mark = overlays.watermark
        # One still frame: overlay repeats the last frame of its second input to the end.
        video = ffmpeg.overlay(video, ffmpeg.input(str(mark.image)), x=mark.x, y=mark.y)
    if overlays.end_card is not None:
        video = _with_card(video, overlays.end_card, fps, offset_s)
        # Once the picture ends, overlay goes on emitting a frame (the picture's last, held)
        # for every card frame left: the card's frames start between the picture's and its
        # count is rounded up, so it outlasts the picture by a frame or two (73 frames for a
        # 72-frame ad). The picture's length decides.
        video = video.filter("trim", end_frame=frames)
    return video


def _with_card(video: Stream, card: Card, fps: int, offset_s: float) -> Stream:
    """The card looped into frames, faded in by its alpha, shifted to its start; before its
    first frame overlay passes the picture through untouched (the caller cuts what runs past
    the picture's end)."""
    # Decoded and converted once, then repeated by the loop filter (``-loop 1`` on the input
    # decodes the PNG again for every frame: 35 % more CPU for the whole ad at 720×1280).
    count = math.ceil((card.end_s - card.start_s) * fps) + 1
    frames = ffmpeg.input(str(card.image)).filter("format", "yuva420p")
    frames = frames.filter("loop", loop=count - 1, size=1, start=0)
    frames = frames.filter("setpts", f"N/({fps}*TB)")
    frames = frames.filter("fade", t="in", st=0, d=f"{card.fade_s:.6f}", alpha=1)
    start = card.start_s - offset_s
    if start < 0:  # a piece that begins inside the card: its first -start seconds are past
        frames = frames.filter("trim", start=f"{-start:.6f}").filter("setpts", "PTS-STARTPTS")
        start = 0.0
    frames = frames.filter("setpts", f"PTS+{start:.6f}/TB")
    return ffmpeg.overlay(video, frames, eof_action="repeat").filter("format", "yuv420p")


def burn_captions(video: Stream, captions: Path, overlays: Overlays | None) -> Stream:
    """The ASS captions over ``video``; libass also searches the brand font's folder."""
    options: dict[str, str] = {"filename": str(captions)}
    if overlays is not None and overlays.caption_font is not None:
        options["fontsdir"] = str(overlays.caption_font.path.parent)
    return video.filter("ass", **options)
