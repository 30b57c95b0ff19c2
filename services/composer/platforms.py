"""Placements as data: frame shape and the safe zone the platform's own UI leaves uncovered.

The insets are fractions of the frame that the platform's buttons, captions and profile row
cover (so burned-in captions, logos and end-card text stay inside the rest). Sources, for
1080×1920: TikTok covers the top ~130–250 px, the bottom ~320–460 px and the right
~120–180 px (blitzcutai.com, socaptions.com, 2026); Reels: top 14 %, bottom 35 %, sides 6 %
(houseofmarketers.com citing Meta); Shorts and the other shapes: the generic rule, the centre
80 % of the width × the middle 60–80 % of the height (shortsfire.com). We take the larger
figure of each range: text a little higher than needed costs nothing; text under a button
is lost. The 4:5 feed post has no buttons over it, but the profile grid previews its middle
1:1 (1080×1080 of 1080×1350): the top and bottom tenths are cut there, so they are kept free.

The insets are fractions, so each zone scales with the frame: a render of the same ad for
another platform places its captions, watermark and end card in that platform's zone at that
size (the clips are cropped to cover the frame, ``filter_graph._fit``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Insets:
    """Covered fractions of the frame on each side, 0–1."""

    top: float
    bottom: float
    left: float
    right: float


@dataclass(frozen=True)
class Platform:
    name: str
    aspect: tuple[int, int]  # width : height
    safe: Insets

    def safe_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The safe zone of a ``width``×``height`` frame in pixels: (left, top, right, bottom)."""
        return (
            round(width * self.safe.left),
            round(height * self.safe.top),
            round(width * (1 - self.safe.right)),
            round(height * (1 - self.safe.bottom)),
        )


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("tiktok", (9, 16), Insets(top=0.13, bottom=0.24, left=0.06, right=0.17)),
        Platform("reels", (9, 16), Insets(top=0.14, bottom=0.35, left=0.06, right=0.06)),
        Platform("shorts", (9, 16), Insets(top=0.12, bottom=0.25, left=0.06, right=0.12)),
        Platform("feed", (4, 5), Insets(top=0.10, bottom=0.10, left=0.10, right=0.10)),
        Platform("square", (1, 1), Insets(top=0.10, bottom=0.10, left=0.10, right=0.10)),
        Platform("landscape", (16, 9), Insets(top=0.10, bottom=0.15, left=0.10, right=0.10)),
    )
}
DEFAULT_PLATFORM = PLATFORMS["tiktok"]
