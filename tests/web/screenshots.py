"""The README's pictures of the web studio, made from the screenshots a run of tests/web saved.

    pytest tests/web --basetemp=/tmp/web-run
    python -m tests.web.screenshots /tmp/web-run

writes gateway/web/screenshots/: three desktop steps at 3/4 size and the five steps on a phone
side by side, each reduced to 256 colours (small files in the repository).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from tests.helpers import ROOT

OUT = ROOT / "gateway" / "web" / "screenshots"
DESKTOP = {  # README picture → the screenshot a test saved
    "desktop-moods.png": "2-moods.png",
    "desktop-storyboard.png": "3-storyboard.png",
    "desktop-final.png": "render-platforms.png",
}
PHONE_STEPS = ("brief", "mood", "storyboard", "clips", "final")
DESKTOP_SCALE = 0.75
PHONE_SCALE = 0.6
GAP = 12
BACKGROUND = "#e5e7eb"


def saved(run: Path, name: str) -> Image.Image:
    """The screenshot ``name`` from the run's test folders (pytest also links each as *current)."""
    found = sorted(p for p in run.rglob(name) if "current" not in p.parent.name)
    if not found:
        raise SystemExit(f"no {name} under {run}: run tests/web with --basetemp={run} first")
    return Image.open(found[-1]).convert("RGB")


def scaled(image: Image.Image, factor: float) -> Image.Image:
    size = (round(image.width * factor), round(image.height * factor))
    return image.resize(size, Image.Resampling.LANCZOS)


def side_by_side(images: list[Image.Image]) -> Image.Image:
    width = sum(i.width for i in images) + GAP * (len(images) + 1)
    height = max(i.height for i in images) + 2 * GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    x = GAP
    for image in images:
        sheet.paste(image, (x, GAP))
        x += image.width + GAP
    return sheet


def save(image: Image.Image, name: str) -> None:
    image.quantize(256).save(OUT / name, optimize=True)
    print(OUT / name)


def main(run: Path) -> None:
    for name, source in DESKTOP.items():
        save(scaled(saved(run, source), DESKTOP_SCALE), name)
    phones = [scaled(saved(run, f"phone-{step}.png"), PHONE_SCALE) for step in PHONE_STEPS]
    save(side_by_side(phones), "phone-steps.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
