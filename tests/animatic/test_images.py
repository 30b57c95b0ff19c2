"""Animatic stills: 9:16 PNGs, byte-identical for identical arguments, in the given palette,
with a legible caption that stays inside the frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from services.generator.animatic import images
from services.generator.animatic.images import derive_palette, render_image, render_image_async
from tests.animatic.helpers import leftovers

W, H = 180, 320
PALETTE = ["#E63946", "#1D3557", "#F1FAEE", "#2A9D8F"]
ARGS: dict[str, Any] = {
    "prompt": "A red sneaker on wet asphalt at night, neon reflections",
    "caption": "Run the night.",
    "palette": PALETTE,
    "width": W,
    "height": H,
    "seed": 7,
}


def _render(tmp_path: Path, name: str, **overrides: Any) -> Path:
    dest = tmp_path / name
    render_image(**{**ARGS, **overrides}, dest=dest)
    return dest


def _pixels(path: Path) -> NDArray[np.int16]:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.int16)


def _near(pixels: NDArray[np.int16], hex_colour: str, tolerance: int = 6) -> int:
    """How many pixels are within ``tolerance`` per channel of the colour."""
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int(np.sum(np.all(np.abs(pixels - target) <= tolerance, axis=-1)))


def test_png_at_the_requested_9_16_size(tmp_path: Path) -> None:
    dest = _render(tmp_path, "frame.png")
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(dest) as img:
        assert img.format == "PNG"
        assert img.mode == "RGB"
        assert img.size == (W, H)
        assert img.size[0] * 16 == img.size[1] * 9
    assert leftovers(tmp_path) == []


def test_identical_arguments_give_identical_bytes(tmp_path: Path) -> None:
    assert _render(tmp_path, "a.png").read_bytes() == _render(tmp_path, "b.png").read_bytes()
    # Seed 0 derives the composition from the prompt: still deterministic.
    zero_a = _render(tmp_path, "z1.png", seed=0, palette=[]).read_bytes()
    zero_b = _render(tmp_path, "z2.png", seed=0, palette=[]).read_bytes()
    assert zero_a == zero_b


def test_seed_and_prompt_change_the_composition(tmp_path: Path) -> None:
    """Not only the bytes: with no text at all, the pixels themselves move."""
    bare = {"caption": "", "scene_text": False}
    base = _pixels(_render(tmp_path, "base.png", **bare))
    other_seed = _pixels(_render(tmp_path, "seed.png", seed=8, **bare))
    other_prompt = _pixels(_render(tmp_path, "prompt.png", prompt="A calm beach at dawn", **bare))
    for other in (other_seed, other_prompt):
        changed = np.mean(np.any(np.abs(base - other) > 24, axis=-1))
        assert changed > 0.25, f"only {changed:.0%} of pixels differ"
    # And with text on, the bytes differ too.
    assert (
        _render(tmp_path, "t1.png").read_bytes() != _render(tmp_path, "t2.png", seed=9).read_bytes()
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_palette_colours_appear(tmp_path: Path, seed: int) -> None:
    pixels = _pixels(_render(tmp_path, "frame.png", seed=seed))
    for colour in PALETTE:
        assert _near(pixels, colour) >= 40, f"{colour} barely appears"


def test_empty_palette_is_derived_from_the_prompt(tmp_path: Path) -> None:
    derived = derive_palette(ARGS["prompt"])
    assert derived == derive_palette(ARGS["prompt"])
    assert derived != derive_palette("A calm beach at dawn")
    assert len(derived) >= 3
    # A named colour leads the palette ("red sneaker").
    red = derived[0]
    assert red[0] > 150 and red[1] < 90 and red[2] < 90
    pixels = _pixels(_render(tmp_path, "frame.png", palette=[]))
    for r, g, b in derived:
        assert _near(pixels, f"#{r:02X}{g:02X}{b:02X}") >= 40


def test_bad_palette_entries_are_skipped_and_short_forms_accepted(tmp_path: Path) -> None:
    pixels = _pixels(_render(tmp_path, "frame.png", palette=["not-a-colour", "#F00", "00FF00"]))
    assert _near(pixels, "#FF0000") >= 40
    assert _near(pixels, "#00FF00") >= 40


LIGHT = ["#F1FAEE", "#FFD6A5", "#CAFFBF", "#9BF6FF"]  # A background with no dark pixels.


def _luma(path: Path) -> NDArray[np.float64]:
    luma: NDArray[np.float64] = _pixels(path) @ np.array([0.2126, 0.7152, 0.0722])
    return luma


def _relative(luma: float) -> float:
    """WCAG relative luminance of a grey of this (sRGB-encoded) level."""
    x = float(luma) / 255
    return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4


def _panel_box(path: Path) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the dark pixels: on a light palette, the caption panel."""
    ys, xs = np.nonzero(_luma(path) < 80)
    assert xs.size > 0, "no dark caption panel"
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_light_palette_has_no_dark_pixels_without_a_caption(tmp_path: Path) -> None:
    """The premise of the caption tests below."""
    bare = _render(tmp_path, "bare.png", caption="", scene_text=False, palette=LIGHT)
    assert np.sum(_luma(bare) < 80) == 0


@pytest.mark.parametrize(
    "caption",
    [
        "Go.",
        "Run the night.",
        "Mornings taste better with SunnyOats: thirty percent more crunch, zero added sugar, "
        "and a recipe the whole family will love from the very first spoonful to the last one.",
        "Supercalifragilisticexpialidocious-unbreakable-word",
    ],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_caption_is_legible_and_inside_the_frame(tmp_path: Path, caption: str, seed: int) -> None:
    dest = _render(
        tmp_path, "text.png", caption=caption, scene_text=False, palette=LIGHT, seed=seed
    )
    x0, y0, x1, y1 = _panel_box(dest)
    # Inside the middle of the frame (the clip renderer's zoom keeps this area in view)…
    assert x0 >= W * 0.1 and x1 <= W * 0.9
    assert y0 >= H * 0.4 and y1 <= H * 0.86
    # …as light text on a dark panel, at WCAG AAA contrast (≥ 7:1).
    panel = _luma(dest)[y0 : y1 + 1, x0 : x1 + 1]
    assert np.sum(panel > 225) > 15, "no light text on the panel"
    background, text = np.median(panel), np.max(panel)
    assert (_relative(text) + 0.05) / (_relative(background) + 0.05) >= 7


def test_caption_scales_with_the_frame(tmp_path: Path) -> None:
    def text_pixels(width: int, height: int) -> int:
        dest = _render(
            tmp_path, "t.png", caption="Run the night.", scene_text=False, palette=LIGHT,
            width=width, height=height,
        )  # fmt: skip
        x0, y0, x1, y1 = _panel_box(dest)
        return int(np.sum(_luma(dest)[y0 : y1 + 1, x0 : x1 + 1] > 200))

    assert text_pixels(360, 640) > 3 * text_pixels(W, H)


def test_shapes_keep_clear_of_the_caption(tmp_path: Path) -> None:
    """Every palette colour's opaque shape sits wholly above the caption's panel."""
    caption = "Mornings taste better with SunnyOats, now with more crunch and zero added sugar."
    for seed in range(1, 6):
        # The panel's place depends on the caption, seed and prompt, not on the palette.
        light = _render(
            tmp_path, "l.png", caption=caption, scene_text=False, palette=LIGHT, seed=seed
        )
        _, panel_top, _, _ = _panel_box(light)
        dest = _render(tmp_path, "t.png", caption=caption, scene_text=False, seed=seed)
        above = _pixels(dest)[: panel_top - 2]
        for colour in PALETTE:
            assert _near(above, colour) >= 40, f"seed {seed}: {colour} hidden by the caption"


def test_characters_the_font_lacks_are_spelled_or_dropped(tmp_path: Path) -> None:
    assert images.printable("Café — “crème” ½") == "Cafe - “creme” 1/2"
    assert images.printable("日本 ok") == " ok"
    _render(tmp_path, "frame.png", caption="Café — 日本", prompt="Crème brûlée")


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        _render(tmp_path, "frame.png", width=0)
    assert not (tmp_path / "frame.png").exists()


async def test_async_wrapper_writes_the_same_png(tmp_path: Path) -> None:
    dest = tmp_path / "async.png"
    await render_image_async(**ARGS, dest=dest)
    assert dest.read_bytes() == _render(tmp_path, "sync.png").read_bytes()
    assert leftovers(tmp_path) == []


class _CountingFont:
    """A monospace stand-in for a FreeType font: each character 7 px wide; counts measures."""

    def __init__(self) -> None:
        self.measures = 0

    def getlength(self, text: str) -> float:
        self.measures += 1
        return 7.0 * len(text)


@pytest.mark.parametrize("length", [1, 12, 13, 14, 300, 4000])
def test_a_long_label_is_cut_to_the_longest_prefix_that_fits(length: int) -> None:
    # Studio image prompts run to hundreds of characters; the label was cut one character at a
    # time, measuring the whole rest each time (15 s of the generator's CPU in one offline ad).
    font = _CountingFont()
    text = ("lemon sparkling water " * 200)[:length]
    label = images._ellipsize(text, font, max_width=100.0)  # type: ignore[arg-type]
    fits = [k for k in range(len(text) + 1) if 7.0 * (k + 1) <= 100.0]
    expected = text if 7.0 * len(text) <= 100.0 else text[: max(fits)].rstrip() + "…"
    assert label == expected
    assert font.measures <= 16, font.measures
