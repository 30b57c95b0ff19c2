"""Animatic stills with the brand: the product photo as the hero (cut out by its alpha, or
framed) and the logo inside the safe corner; frames without them are unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from services.generator.animatic import RenderError
from services.generator.animatic.images import compose_image, render_image_bytes
from tests.animatic.helpers import CYAN, GREEN, ORANGE, logo_png, product_png

W, H = 180, 320
ARGS: dict[str, Any] = {
    "prompt": "A red sneaker on wet asphalt at night, neon reflections",
    "caption": "Run the night.",
    "palette": ["#E63946", "#1D3557", "#F1FAEE", "#2A9D8F"],
    "width": W,
    "height": H,
    "seed": 7,
}
# TikTok's UI covers the top 13 % and the right 17 % (services/composer/platforms.py) and
# the left 6 %; nothing of the logo may be there.
SAFE_LEFT, SAFE_TOP, SAFE_RIGHT = 0.06, 0.13, 0.83


def _pixels(**frame: Any) -> NDArray[np.int16]:
    return np.asarray(compose_image(**{**ARGS, **frame}), dtype=np.int16)


def _mask(pixels: NDArray[np.int16], colour: tuple[int, int, int], tolerance: int = 8) -> Any:
    return np.all(np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance, axis=-1)


def _bbox(mask: Any) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the true pixels, right and bottom exclusive."""
    ys, xs = np.nonzero(mask)
    assert len(xs), "no pixel of the colour"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_a_transparent_product_is_cut_out_by_its_alpha(tmp_path: Path) -> None:
    pixels = _pixels(product=product_png(tmp_path / "p.png", transparent=True))
    product = _mask(pixels, ORANGE)
    # The bottle is the hero: ~4,000 px of a 180×320 frame, between the logo row and caption.
    assert product.sum() > 2500
    left, top, right, bottom = _bbox(product)
    assert top >= 0.2 * H and bottom <= 0.65 * H
    assert left >= 0.12 * W and right <= 0.88 * W
    # Its background is gone: not one pixel of the green it was painted on, and no card in
    # its place either: around the bottle the scene shows through, in many colours.
    assert _mask(pixels, GREEN, tolerance=40).sum() == 0
    assert len(_colours_around(pixels, product)) > 50


def _colours_around(pixels: NDArray[np.int16], mask: Any, margin: int = 3) -> set[bytes]:
    """The distinct colours inside ``mask``'s bounding box, ``margin`` px clear of ``mask``."""
    near = mask.copy()
    for dy in range(-margin, margin + 1):
        for dx in range(-margin, margin + 1):
            near |= np.roll(mask, (dy, dx), axis=(0, 1))
    left, top, right, bottom = _bbox(mask)
    box = pixels[top:bottom, left:right][~near[top:bottom, left:right]]
    return {row.tobytes() for row in box}


def test_an_opaque_product_photo_is_framed(tmp_path: Path) -> None:
    """The same picture with an opaque alpha channel is a photo: shown whole, on a card."""
    pixels = _pixels(product=product_png(tmp_path / "p.png", transparent=False))
    photo = _mask(pixels, GREEN) | _mask(pixels, ORANGE)
    left, top, right, bottom = _bbox(photo)
    # The photo is the whole rectangle (its green background included) at the source's 2:3.
    assert photo[top:bottom, left:right].mean() > 0.9  # the rest: orange-green edges
    assert abs((right - left) / (bottom - top) - 2 / 3) < 0.05
    # Its frame, just outside it on every side, is the palette's lightest colour (#F1FAEE).
    ring = np.concatenate(
        [
            pixels[top:bottom, left - 2],
            pixels[top:bottom, right + 1],
            pixels[top - 2, left:right],
            pixels[bottom + 1, left:right],
        ]
    )
    assert np.all(np.abs(ring - np.array([0xF1, 0xFA, 0xEE])) <= 12)


def test_a_jpeg_product_is_read(tmp_path: Path) -> None:
    path = tmp_path / "p.jpg"
    Image.open(product_png(tmp_path / "p.png", transparent=False)).convert("RGB").save(path)
    assert _mask(_pixels(product=path), ORANGE, tolerance=24).sum() > 2500


def test_the_logo_is_inside_the_safe_corner(tmp_path: Path) -> None:
    pixels = _pixels(logo=logo_png(tmp_path / "logo.png"))
    logo = _mask(pixels, CYAN)
    left, top, right, bottom = _bbox(logo)
    assert left >= SAFE_LEFT * W and top >= SAFE_TOP * H and right <= SAFE_RIGHT * W
    assert bottom <= 0.25 * H  # a top corner
    # The whole logo (3:1) is there, not a sliver: ≥ 80 % of its box is cyan.
    assert abs((right - left) / (bottom - top) - 3) < 0.4
    assert logo[top:bottom, left:right].mean() > 0.8


def test_product_and_logo_together_are_deterministic_and_move_with_the_seed(
    tmp_path: Path,
) -> None:
    brand = {
        "product": product_png(tmp_path / "p.png", transparent=True),
        "logo": logo_png(tmp_path / "logo.png"),
    }
    first = render_image_bytes(**{**ARGS, **brand})
    assert render_image_bytes(**{**ARGS, **brand}) == first
    here = _bbox(_mask(_pixels(**brand), ORANGE))
    moved = [_bbox(_mask(_pixels(**brand, seed=seed), ORANGE)) for seed in (1, 2, 3)]
    assert any(box != here for box in moved)
    # The logo stays put: it is the brand's, not the scene's.
    logos = {_bbox(_mask(_pixels(**brand, seed=seed), CYAN)) for seed in (7, 1, 2)}
    assert len(logos) == 1


# sha256 of the decoded RGB pixels the renderer drew for these frames before products and
# logos existed (commit fa93dec). Pixels, not PNG bytes, so zlib's build does not matter; a
# Pillow upgrade that changes its drawing would change them, and this pin must then be renewed
# on purpose.
_BEFORE_BRANDS = [
    ({}, "82c09d072dabb273c1f2ecaa1da111c1c8e52f8e91c3899153bfa7d3d68a5cef"),
    (
        {"prompt": "A calm beach at dawn", "caption": "", "palette": [], "seed": 0},
        "96e6fc040645a18de0e37a7b8bd527d084d6d53e6dc74cad3466e748aa338046",
    ),
]


@pytest.mark.parametrize(("frame", "digest"), _BEFORE_BRANDS)
def test_without_product_or_logo_the_frame_is_unchanged(frame: dict[str, Any], digest: str) -> None:
    pixels = np.asarray(compose_image(**{**ARGS, **frame}))
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == digest
    explicit_none = render_image_bytes(**{**ARGS, **frame, "product": None, "logo": None})
    assert explicit_none == render_image_bytes(**{**ARGS, **frame})


def test_an_unreadable_svg_logo_is_refused_by_name(tmp_path: Path) -> None:
    """SVG logos are rasterised (tests/generator/test_svg_brand.py); a broken one is named."""
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect')
    with pytest.raises(RenderError, match=r"logo: not a readable SVG"):
        compose_image(**ARGS, logo=svg)
