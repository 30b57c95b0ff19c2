"""A contact sheet of the plan: each scene's seed image, number, duration and description."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_THUMB_W, _THUMB_H = 270, 480
_TEXT_H = 150
_PAD = 16
_COLUMNS = 4


@dataclass(frozen=True)
class StoryboardScene:
    number: int
    duration_s: float
    description: str
    image: Path | None


def _cell(scene: StoryboardScene) -> Image.Image:
    cell = Image.new("RGB", (_THUMB_W, _THUMB_H + _TEXT_H), "white")
    if scene.image and scene.image.exists():
        with Image.open(scene.image) as seed:
            cell.paste(seed.convert("RGB").resize((_THUMB_W, _THUMB_H)), (0, 0))
    draw = ImageDraw.Draw(cell)
    title = ImageFont.load_default(size=18)
    body = ImageFont.load_default(size=13)
    draw.text(
        (8, _THUMB_H + 8), f"{scene.number}  |  {scene.duration_s:.2f} s", fill="black", font=title
    )
    lines = textwrap.wrap(scene.description, width=38)[:6]
    draw.multiline_text(
        (8, _THUMB_H + 36), "\n".join(lines), fill=(60, 60, 60), font=body, spacing=3
    )
    return cell


def render_storyboard(scenes: list[StoryboardScene], dest: Path, title: str) -> None:
    """Writes a PNG grid of the scenes, four per row, under a title line."""
    rows = max(1, -(-len(scenes) // _COLUMNS))
    width = _COLUMNS * (_THUMB_W + _PAD) + _PAD
    height = 60 + rows * (_THUMB_H + _TEXT_H + _PAD) + _PAD
    sheet = Image.new("RGB", (width, height), (236, 236, 236))
    ImageDraw.Draw(sheet).text(
        (_PAD, 18), title, fill="black", font=ImageFont.load_default(size=24)
    )
    for i, scene in enumerate(scenes):
        x = _PAD + (i % _COLUMNS) * (_THUMB_W + _PAD)
        y = 60 + (i // _COLUMNS) * (_THUMB_H + _TEXT_H + _PAD)
        sheet.paste(_cell(scene), (x, y))
    dest.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(dest)
