"""reelforge.runtime.svg: sniffing SVG and rasterising it to a transparent PNG, from memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.runtime.svg import SvgError, is_svg, rasterise_svg

_SVG = (
    '<?xml version="1.0"?>\n<!-- exported -->\n'
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'width="40" height="20"><rect x="0" y="0" width="20" height="20" fill="#ff0000"/>{body}</svg>'
)


def test_sniffs_svg_not_png(tmp_path: Path) -> None:
    svg, png = tmp_path / "a", tmp_path / "b"
    svg.write_text(_SVG.format(body=""))
    Image.new("RGB", (4, 4)).save(png, format="PNG")
    assert is_svg(svg) and not is_svg(png)


def test_rasterised_at_the_width_asked_with_transparency(tmp_path: Path) -> None:
    svg = tmp_path / "logo"  # the store keeps no extension
    svg.write_text(_SVG.format(body=""))
    out = rasterise_svg(svg, 200, tmp_path / "out.png")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (200, 100)
        px = np.asarray(img.convert("RGBA"))
    assert tuple(px[50, 50]) == (255, 0, 0, 255)  # the red square, left half
    assert px[50, 150, 3] == 0  # the right half is transparent


def test_loads_nothing_the_svg_refers_to(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (40, 20), (0, 255, 0)).save(secret)
    body = (
        f'<image x="20" width="20" height="20" xlink:href="file://{secret}"/>'
        '<image x="20" width="20" height="20" xlink:href="secret.png"/>'
        "<script>alert(1)</script>"
    )
    svg = tmp_path / "hostile"
    svg.write_text(_SVG.format(body=body))
    with Image.open(rasterise_svg(svg, 40, tmp_path / "out.png")) as img:
        px = np.asarray(img.convert("RGBA"))
    assert px[10, 30, 3] == 0, "the server's file was drawn"


def test_a_broken_svg_is_a_plain_error(tmp_path: Path) -> None:
    svg = tmp_path / "broken"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect')
    with pytest.raises(SvgError, match="not a readable SVG"):
        rasterise_svg(svg, 40, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()
