"""Offline animatic frames: a palette gradient, layered shapes and a legible caption, in Pillow.

Everything drawn comes from one ``random.Random`` seeded by sha256 of (seed, prompt), so the same
arguments always give byte-identical PNGs, while another seed or prompt moves the shapes and turns
the gradient.
"""

from __future__ import annotations

import asyncio
import colorsys
import functools
import io
import math
import random
import re
import unicodedata
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from services.generator.animatic import brand
from services.generator.animatic._common import RGB, derive_seed, luminance, mix, write_atomic

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

MAX_SIDE = 8192
# The caption stays inside the middle 76% of the width and above 85% of the height, so the clip
# renderer's moves (≤ 1.2× zoom, see clips.py) keep it in frame.
CAPTION_TEXT_WIDTH = 0.66
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_WORD = re.compile(r"[a-z]+")
_WHITE: RGB = (255, 255, 255)

# Colour words a prompt may name; they lead a palette derived from the prompt.
_COLOUR_WORDS: dict[str, RGB] = {
    "red": (214, 40, 57),
    "crimson": (165, 18, 45),
    "orange": (247, 127, 0),
    "amber": (255, 179, 0),
    "gold": (212, 175, 55),
    "golden": (212, 175, 55),
    "yellow": (252, 211, 77),
    "lime": (163, 230, 53),
    "green": (34, 160, 90),
    "emerald": (4, 120, 87),
    "mint": (152, 232, 193),
    "teal": (13, 148, 136),
    "turquoise": (45, 212, 191),
    "cyan": (34, 211, 238),
    "blue": (37, 99, 235),
    "navy": (23, 37, 84),
    "indigo": (67, 56, 202),
    "purple": (126, 34, 206),
    "violet": (139, 92, 246),
    "lavender": (196, 181, 253),
    "pink": (244, 114, 182),
    "magenta": (217, 70, 239),
    "coral": (251, 113, 133),
    "peach": (253, 186, 140),
    "beige": (231, 214, 184),
    "cream": (250, 243, 224),
    "brown": (120, 72, 40),
    "black": (17, 17, 17),
    "charcoal": (44, 48, 54),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "silver": (192, 197, 206),
    "white": (245, 245, 245),
}
_DARK_WORDS = frozenset({"dark", "night", "noir", "moody", "midnight", "dramatic", "shadow"})
_SOFT_WORDS = frozenset({"calm", "soft", "pastel", "gentle", "airy", "serene", "minimal"})


# --------------------------------------------------------------------------------------------
# Palette


def parse_palette(palette: Sequence[str]) -> list[RGB]:
    """The usable "#RRGGBB" (or "#RGB") colours of ``palette``, in order; others are skipped."""
    colours: list[RGB] = []
    for value in palette:
        match = _HEX.match(value.strip())
        if not match:
            continue
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        colour = (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
        if colour not in colours:
            colours.append(colour)
    return colours


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def derive_palette(prompt: str) -> list[RGB]:
    """Four colours from the prompt alone: the colours it names first, then a hue harmony."""
    words = _WORD.findall(prompt.lower())
    named = list(dict.fromkeys(_COLOUR_WORDS[w] for w in words if w in _COLOUR_WORDS))[:3]
    rng = random.Random(derive_seed(0, "palette", prompt))
    if named:
        r, g, b = named[0]
        hue = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)[0]
    else:
        hue = rng.random()
    word_set = set(words)
    sat, val = 0.62 + 0.2 * rng.random(), 0.78 + 0.17 * rng.random()
    if word_set & _DARK_WORDS:
        val *= 0.55
    if word_set & _SOFT_WORDS:
        sat *= 0.55
    scheme = rng.choice(((0.08, 0.16, 0.5), (0.5, 0.58, 0.08), (1 / 3, 2 / 3, 0.04)))
    derived = [
        _hsv(hue, sat, val),
        _hsv(hue + scheme[0], sat * 0.9, val * 0.85),
        _hsv(hue + scheme[1], sat * 0.75, min(1.0, val * 1.1)),
        _hsv(hue + scheme[2], sat * 0.5, val * 0.35),
    ]
    palette = named + [c for c in derived if c not in named]
    return palette[:4]


def _full_palette(palette: Sequence[str], prompt: str) -> list[RGB]:
    colours = parse_palette(palette)[:8] or derive_palette(prompt)
    if len(colours) == 1:  # A gradient needs two stops: a shade and a tint of the one colour.
        colours = [colours[0], mix(colours[0], (0, 0, 0), 0.55), mix(colours[0], _WHITE, 0.45)]
    return colours


# --------------------------------------------------------------------------------------------
# Layers


def _gradient(width: int, height: int, stops: Sequence[RGB], angle: float) -> Image.Image:
    """A linear gradient through ``stops`` along ``angle``; the extreme corners hit the end stops."""
    xs = np.arange(width, dtype=np.float32) - np.float32((width - 1) / 2)
    ys = np.arange(height, dtype=np.float32) - np.float32((height - 1) / 2)
    proj = xs[None, :] * np.float32(math.cos(angle)) + ys[:, None] * np.float32(math.sin(angle))
    lo, hi = float(proj.min()), float(proj.max())
    t = (proj - lo) / (hi - lo) if hi > lo else np.zeros_like(proj)
    positions = np.linspace(0.0, 1.0, len(stops))
    channels = [np.interp(t, positions, [float(c[i]) for c in stops]) for i in range(3)]
    rgb: NDArray[np.uint8] = np.clip(np.rint(np.stack(channels, axis=-1)), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def _glow_and_vignette(img: Image.Image, cx: float, cy: float, strength: float) -> Image.Image:
    """A soft light spot at (cx, cy) (fractions of the frame) and darker corners."""
    width, height = img.size
    xs = (np.arange(width, dtype=np.float64) + 0.5) / width
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    aspect = height / width
    dx, dy = xs[None, :] - cx, (ys[:, None] - cy) * aspect
    glow = (np.exp(-(dx * dx + dy * dy) / (2 * 0.28**2)) * strength).astype(np.float32)
    vx, vy = xs[None, :] - 0.5, (ys[:, None] - 0.5) * aspect
    edge = np.clip((np.sqrt(vx * vx + vy * vy) - 0.35) / 0.6, 0.0, 1.0)
    vignette = (1.0 - 0.35 * edge**1.5).astype(np.float32)
    arr = np.asarray(img, dtype=np.float32)
    out = (arr + (np.float32(255.0) - arr) * glow[..., None]) * vignette[..., None]
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def _soft_layer(size: tuple[int, int], colours: Sequence[RGB], rng: random.Random) -> Image.Image:
    """Large translucent blurred discs: depth behind the crisp shapes."""
    width, height = size
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for i in range(3 + rng.randrange(3)):
        colour = colours[(i + 1) % len(colours)]
        r = width * (0.22 + 0.3 * rng.random())
        cx, cy = width * rng.uniform(-0.1, 1.1), height * rng.uniform(-0.05, 1.05)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, 70 + rng.randrange(70)))
    return layer.filter(ImageFilter.GaussianBlur(radius=max(1.0, width * 0.05)))


def _polygon(cx: float, cy: float, r: float, sides: int, rot: float) -> list[tuple[float, float]]:
    return [
        (
            cx + r * math.cos(rot + 2 * math.pi * k / sides),
            cy + r * math.sin(rot + 2 * math.pi * k / sides),
        )
        for k in range(sides)
    ]


def _draw_shape(
    draw: ImageDraw.ImageDraw,
    kind: str,
    cx: float,
    cy: float,
    r: float,
    rot: float,
    fill: tuple[int, int, int, int],
) -> None:
    if kind == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=max(2, round(r * 0.32)))
    elif kind == "rect":
        draw.rounded_rectangle(
            (cx - r, cy - r * 0.72, cx + r, cy + r * 0.72), radius=r * 0.25, fill=fill
        )
    elif kind == "triangle":
        draw.polygon(_polygon(cx, cy, r * 1.1, 3, rot), fill=fill)
    else:  # "diamond": a rotated square
        draw.polygon(_polygon(cx, cy, r, 4, rot), fill=fill)


def _place(
    rng: random.Random, placed: list[tuple[float, float, float]], r: float, box: tuple[float, ...]
) -> tuple[float, float]:
    """Of a dozen random spots in ``box``, the one that overlaps the placed shapes least."""
    x0, y0, x1, y1 = box
    best, best_gap = (0.0, 0.0), -math.inf
    for _ in range(12):
        cx, cy = rng.uniform(x0 + r, x1 - r), rng.uniform(y0 + r, y1 - r)
        gap = min((math.hypot(cx - px, cy - py) - r - pr for px, py, pr in placed), default=0.0)
        if gap > best_gap:
            best, best_gap = (cx, cy), gap
    return best


def _shape_layers(
    size: tuple[int, int], colours: Sequence[RGB], rng: random.Random, stage_bottom: float = 0.62
) -> tuple[Image.Image, Image.Image]:
    """Opaque shapes and their blurred drop shadow: one hero shape on a third of the frame and
    one smaller shape per remaining palette colour (at least four shapes in all).

    Shapes are drawn at 2× and reduced, for smooth edges; they stay above ``stage_bottom`` (a
    fraction of the height), where the caption's panel begins.
    """
    width, height = size
    ss = 2
    shapes = Image.new("RGBA", (width * ss, height * ss), (0, 0, 0, 0))
    shadow = Image.new("RGBA", size, (0, 0, 0, 0))
    draw, shadow_draw = ImageDraw.Draw(shapes), ImageDraw.Draw(shadow)
    offset = width * 0.014
    order = list(range(len(colours)))
    rng.shuffle(order)
    count = max(4, len(colours))
    box = (width * 0.04, height * 0.09, width * 0.96, height * stage_bottom)
    placed: list[tuple[float, float, float]] = []
    for i in range(count):
        colour = colours[order[i % len(order)]]
        if i == 0:  # The hero: large, on a vertical third, in the upper half.
            r = min(width * rng.uniform(0.2, 0.27), (box[3] - box[1]) * 0.45)
            cx = width * rng.choice((1 / 3, 2 / 3)) + width * rng.uniform(-0.05, 0.05)
            cy = min(height * rng.uniform(0.27, 0.42), box[3] - r)
            kind = rng.choice(("circle", "rect", "diamond", "triangle", "circle"))
        else:
            r = width * rng.uniform(0.06, 0.13) * (1.0 if count <= 5 else 0.8)
            r = min(r, (box[3] - box[1]) * 0.2)
            cx, cy = _place(rng, placed, r, box)
            kind = rng.choice(("circle", "rect", "triangle", "diamond", "ring"))
        placed.append((cx, cy, r))
        rot = rng.uniform(0, 2 * math.pi)
        _draw_shape(shadow_draw, kind, cx + offset, cy + offset * 1.4, r, rot, (0, 0, 0, 90))
        _draw_shape(draw, kind, cx * ss, cy * ss, r * ss, rot, (*colour, 255))
    shapes = shapes.resize(size, Image.Resampling.LANCZOS)
    return shapes, shadow.filter(ImageFilter.GaussianBlur(radius=max(1.0, width * 0.012)))


# --------------------------------------------------------------------------------------------
# Text


@functools.lru_cache(maxsize=64)
def _font(size: int) -> Font:
    """Pillow's bundled default font at ``size`` px (FreeType); the bitmap font without FreeType."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # pragma: no cover - Pillow built without FreeType
        return ImageFont.load_default()


_FALLBACKS = {
    "\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2212": "-", "\u00a0": " ",
    "\u00df": "ss", "\u00c6": "AE", "\u00e6": "ae", "\u0152": "OE", "\u0153": "oe",
    "\u00d8": "O", "\u00f8": "o", "\u0141": "L", "\u0142": "l", "\u00d0": "D", "\u00f0": "d",
    "\u00de": "Th", "\u00fe": "th", "\u20ac": "EUR", "\u00a3": "GBP", "\u00a5": "JPY",
    "\u00ae": "(R)", "\u2022": "\u00b7", "\u2192": "->", "\u2190": "<-", "\u00bd": "1/2",
    "\u00bc": "1/4", "\u00be": "3/4", "\u00d7": "x", "\u00b4": "'", "\u2032": "'",
}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _has_glyph(ch: str) -> bool:
    """Whether the default font draws ``ch`` (rather than its "missing glyph" box)."""
    font = _font(24)
    if not isinstance(font, ImageFont.FreeTypeFont):  # pragma: no cover - bitmap fallback
        return ch.isascii()
    return _glyph_signature(font, ch) != _glyph_signature(font, "\uffff")


def _glyph_signature(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(ch)
    return mask.size, bytes(mask[i] for i in range(mask.size[0] * mask.size[1]))


@functools.lru_cache(maxsize=1024)
def printable(text: str) -> str:
    """``text`` in characters the default font has: accents stripped, dashes and symbols
    spelled in ASCII, the rest (e.g. CJK, which the font lacks) dropped."""
    out: list[str] = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif _has_glyph(ch):
            out.append(ch)
        elif ch in _FALLBACKS:
            out.append(_FALLBACKS[ch])
        else:
            base = unicodedata.normalize("NFKD", ch)
            out.extend(c for c in base if not unicodedata.combining(c) and _has_glyph(c))
    return "".join(out)


def _wrap(text: str, font: Font, max_width: float) -> list[str]:
    """Greedy word wrap by measured width; a word wider than a line is broken by characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:
                if line and font.getlength(line + ch) > max_width:
                    lines.append(line)
                    line = ""
                line += ch
        if line:
            lines.append(line)
    return lines


def _fit_caption(caption: str, width: int, height: int) -> tuple[Font, int, list[str]]:
    """The largest font size (within the frame's limits) whose wrapped caption fits its box."""
    max_w, max_h = width * CAPTION_TEXT_WIDTH, height * 0.26
    hi, lo = max(10, round(width / 11)), max(8, round(width / 30))
    size, lines = lo, [caption]
    for candidate in range(hi, lo - 1, -max(1, hi // 24)):
        font = _font(candidate)
        lines = _wrap(caption, font, max_w)
        if len(lines) * candidate * 1.22 <= max_h and len(lines) <= 5:
            return font, candidate, lines
        size = candidate
    font = _font(size)
    lines = _wrap(caption, font, max_w)
    max_lines = max(1, int(max_h // (size * 1.22)))
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _ellipsize(" ".join(lines[max_lines - 1 :]), font, max_w)]
    return font, size, lines


def _ellipsize(text: str, font: Font, max_width: float) -> str:
    """``text``, or its longest prefix that fits with "…" after it.

    A binary search over the prefix's length (a longer prefix is never narrower): image prompts
    run to hundreds of characters, and cutting one character at a time measured the whole rest
    each time, 15 s of the generator's CPU in one offline ad.
    """
    if font.getlength(text) <= max_width:
        return text
    fits, too_long = 0, len(text)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if font.getlength(text[:middle] + "…") <= max_width:
            fits = middle
        else:
            too_long = middle
    return text[:fits].rstrip() + "…"


@dataclass(frozen=True)
class _CaptionLayout:
    font: Font
    size: int
    lines: list[str]
    line_h: int
    pad_y: int
    left: float
    top: float
    width: float
    bottom: float


def _layout_caption(caption: str, width: int, height: int, rng: random.Random) -> _CaptionLayout:
    """Where the caption's panel goes: centred, its bottom at 82–85% of the height."""
    font, size, lines = _fit_caption(caption, width, height)
    line_h = round(size * 1.22)
    pad_x, pad_y = round(width * 0.05), round(size * 0.55)
    text_w = max(font.getlength(line) for line in lines)
    box_w = min(width * (CAPTION_TEXT_WIDTH + 0.1), text_w + 2 * pad_x)
    box_h = len(lines) * line_h + 2 * pad_y - round(size * 0.22)
    bottom = height * rng.uniform(0.82, 0.85)
    return _CaptionLayout(
        font, size, lines, line_h, pad_y, (width - box_w) / 2, bottom - box_h, box_w, bottom
    )


def _draw_caption(img: Image.Image, layout: _CaptionLayout, colours: Sequence[RGB]) -> None:
    """The caption on a dark panel in the lower third: white text, ≥ 7:1 contrast."""
    width = img.size[0]
    font, size, left, top, box_w = layout.font, layout.size, layout.left, layout.top, layout.width
    darkest = min(colours, key=luminance)
    # ≤ 20% of the darkest colour, 90% opaque: even over white, white text on it is ≥ 7:1.
    panel = mix(darkest, (0, 0, 0), 0.8)
    accent = max(colours, key=lambda c: colorsys.rgb_to_hsv(*(x / 255 for x in c))[1])
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    radius = round(min(layout.bottom - top, box_w) * 0.18)
    draw.rounded_rectangle(
        (left, top, left + box_w, layout.bottom), radius=radius, fill=(*panel, 230)
    )
    bar_h = max(2, round(size * 0.16))
    draw.rounded_rectangle(
        (left + box_w * 0.3, top - bar_h * 0.5, left + box_w * 0.7, top + bar_h * 0.5),
        radius=bar_h // 2,
        fill=(*accent, 255),
    )
    img.paste(Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB"))
    text = ImageDraw.Draw(img)
    stroke = size // 18  # A thin outline only where glyphs are big enough to keep their shape.
    y = top + layout.pad_y
    for line in layout.lines:
        x = (width - font.getlength(line)) / 2
        text.text((x, y), line, font=font, fill=_WHITE, stroke_width=stroke, stroke_fill=panel)
        y += layout.line_h


def _draw_scene_text(img: Image.Image, prompt: str) -> None:
    """A small label of the prompt's opening words in the top-left corner, as on a storyboard."""
    width, height = img.size
    size = max(8, round(min(width / 26, height / 46)))
    font = _font(size)
    label = _ellipsize(" ".join(printable(prompt).split()), font, width * 0.8)
    if not label:
        return
    pad = max(2, size // 3)
    x, y = round(width * 0.07), round(height * 0.05)
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle(
        (x - pad, y - pad, x + font.getlength(label) + pad, y + size * 1.15 + pad),
        radius=pad,
        fill=(0, 0, 0, 120),
    )
    draw.text((x, y), label, font=font, fill=(255, 255, 255, 215))
    img.paste(Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB"))


# --------------------------------------------------------------------------------------------
# Entry points


class Frame(TypedDict):
    """What a frame is drawn from (the keyword arguments of every ``render_image*``).

    ``palette``: "#RRGGBB" colours (unparseable ones are skipped); empty derives one from the
    prompt. ``seed`` 0 derives the composition from the prompt alone. ``caption`` (may be empty)
    is wrapped and scaled to the frame on a contrasting panel; ``scene_text`` adds a small label
    of the prompt. ``product`` (a PNG, JPEG, WebP or SVG file) becomes the frame's hero: cut out by
    its alpha channel when it has transparency, else framed; ``logo`` goes in the top-left
    safe corner (see brand.py). Without them the frame is exactly what it was before either
    existed: their placement draws on a random stream of its own.
    """

    prompt: str
    caption: str
    palette: Sequence[str]
    width: int
    height: int
    seed: int
    scene_text: NotRequired[bool]
    product: NotRequired[Path | None]
    logo: NotRequired[Path | None]


def compose_image(**frame: Unpack[Frame]) -> Image.Image:
    """The frame as an RGB image (see :class:`Frame`)."""
    prompt, caption, palette = frame["prompt"], frame["caption"], frame["palette"]
    width, height, seed = frame["width"], frame["height"], frame["seed"]
    scene_text = frame.get("scene_text", True)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"width and height must be 1–{MAX_SIDE} px, got {width}×{height}")
    rng = random.Random(derive_seed(seed, "image", prompt))
    colours = _full_palette(palette, prompt)
    stops = list(colours[:4])
    rng.shuffle(stops)
    img = _gradient(width, height, stops, rng.uniform(0, 2 * math.pi))
    img = _glow_and_vignette(img, rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.55), 0.22)
    caption = " ".join(printable(caption).split())
    caption_rng = random.Random(derive_seed(seed, "caption", prompt))
    layout = _layout_caption(caption, width, height, caption_rng) if caption else None
    # The shapes keep clear of the caption's panel, unless a very long caption fills the frame.
    stage = 0.62 if layout is None else min(0.62, max(0.4, layout.top / height - 0.03))
    shapes, shadow = _shape_layers((width, height), colours, rng, stage)
    rgba = img.convert("RGBA")
    rgba = Image.alpha_composite(rgba, _soft_layer((width, height), colours, rng))
    rgba = Image.alpha_composite(rgba, shadow)
    rgba = Image.alpha_composite(rgba, shapes)
    if (product := frame.get("product")) is not None:
        product_rng = random.Random(derive_seed(seed, "product", prompt))
        hero = brand.load_raster(product, "product image", brand.product_width(width))
        rgba.alpha_composite(brand.product_layer(rgba.size, hero, stage, colours, product_rng))
    img = rgba.convert("RGB")
    if scene_text and prompt.strip():
        _draw_scene_text(img, prompt)
    if layout is not None:
        _draw_caption(img, layout, colours)
    if (logo := frame.get("logo")) is not None:
        mark = brand.logo_layer(
            img.size, brand.load_raster(logo, "logo", brand.logo_width(width)), colours
        )
        img = Image.alpha_composite(img.convert("RGBA"), mark).convert("RGB")
    return img


def render_image_bytes(**frame: Unpack[Frame]) -> bytes:
    """The frame as PNG bytes; identical arguments give identical bytes.

    zlib level 1: a 720×1280 frame encodes in 0.05 CPU-s instead of level 6's 0.21, for 39 %
    more bytes (389 against 280 KB): an offline draft's frames, made often, not delivered.
    """
    buf = io.BytesIO()
    compose_image(**frame).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def render_image(*, dest: Path, **frame: Unpack[Frame]) -> None:
    """Writes a ``width``×``height`` PNG animatic frame (see :class:`Frame`) to ``dest``
    (atomically)."""
    write_atomic(render_image_bytes(**frame), dest)


async def render_image_async(
    *, dest: Path, executor: Executor | None = None, **frame: Unpack[Frame]
) -> None:
    """:func:`render_image` off the event loop, in ``executor`` (the loop's default if None).

    The drawing runs in the executor (a process pool works too); the file is then written
    atomically in a thread, so a cancelled call never leaves a partial PNG.
    """
    loop = asyncio.get_running_loop()
    frame["palette"] = list(frame["palette"])  # picklable, for a process pool
    work = functools.partial(render_image_bytes, **frame)
    data = await loop.run_in_executor(executor, work)
    await asyncio.to_thread(write_atomic, data, dest)
