"""The renders one compose makes: every platform × cut-down of the ad's render options.

Each combination is its own Render (and composition, and MP4). A platform sets the frame's
shape; the clips were generated in the ad's aspect ratio and the composer scales them to
cover the new frame and crops the overflow around each scene's focus point (``Scene.focus_x``
/ ``focus_y``, the centre unless the planner or an edit set one), so nothing is letter-boxed
unless the render options ask for ``FIT_PAD``.
A cut-down (15 s, 6 s) plays the scenes the planner's rule chooses
(``services/planner/cutdowns.py``), each clip trimmed from its start: nothing is generated
again, so a cut-down costs no prediction.
"""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from reelforge.v1 import common_pb2, studio_pb2
from services.planner.cutdowns import CUTDOWN_LENGTHS_S, cutdown

# The frame shape each platform's placement has (composer's platforms.py holds their safe zones).
_ASPECTS = {
    "tiktok": common_pb2.ASPECT_RATIO_9_16,
    "reels": common_pb2.ASPECT_RATIO_9_16,
    "shorts": common_pb2.ASPECT_RATIO_9_16,
    "feed": common_pb2.ASPECT_RATIO_4_5,
    "square": common_pb2.ASPECT_RATIO_1_1,
    "landscape": common_pb2.ASPECT_RATIO_16_9,
}
# With no platform asked for, a render keeps the ad's aspect ratio and is named by it (as the
# composer picks the safe zone).
_PLATFORM_BY_ASPECT = {
    common_pb2.ASPECT_RATIO_UNSPECIFIED: "tiktok",
    common_pb2.ASPECT_RATIO_9_16: "tiktok",
    common_pb2.ASPECT_RATIO_4_5: "feed",
    common_pb2.ASPECT_RATIO_1_1: "square",
    common_pb2.ASPECT_RATIO_16_9: "landscape",
}
PLATFORM_NAMES = tuple(_ASPECTS)
CUTDOWNS = (0, *CUTDOWN_LENGTHS_S)  # 0 is the full ad
MAX_RENDERS_PER_PLATFORM = len(CUTDOWNS)


def platform_aspect(platform: str) -> common_pb2.AspectRatio.ValueType:
    """The frame shape of ``platform`` (one of PLATFORM_NAMES)."""
    return _ASPECTS[platform]


def platforms(options: studio_pb2.RenderOptions) -> list[str]:
    """The platforms ``options`` asks for: ``platforms``, else the one ``platform`` ("" = the ad's)."""
    return list(options.platforms) or [options.platform]


def cutdowns(options: studio_pb2.RenderOptions) -> list[int]:
    """The lengths ``options`` asks for, seconds: ``cutdowns``, else the full ad (0)."""
    return list(options.cutdowns) or [0]


def aspect_ratio(ad: studio_pb2.Ad, render: studio_pb2.Render) -> common_pb2.AspectRatio.ValueType:
    """The frame shape of ``render``: its platform's, else the ad's."""
    if render.options.platform:
        return platform_aspect(render.options.platform)
    return ad.options.aspect_ratio


def planned(ad: studio_pb2.Ad, created_at: timestamp_pb2.Timestamp) -> list[studio_pb2.Render]:
    """One new Render per platform × cut-down of the ad's render options, numbered on from the
    ad's last render (validated options; the storyboard is final)."""
    options = ad.options.render
    scenes = [s.scene for s in ad.storyboard]
    made: list[studio_pb2.Render] = []
    for platform in platforms(options):
        for seconds in cutdowns(options):
            single = studio_pb2.RenderOptions()
            single.CopyFrom(options)
            single.ClearField("platforms")
            single.ClearField("cutdowns")
            single.platform = platform
            render = studio_pb2.Render(
                number=len(ad.renders) + len(made) + 1,
                options=single,
                platform=platform or _PLATFORM_BY_ASPECT[ad.options.aspect_ratio],
                cutdown_seconds=seconds,
                created_at=created_at,
            )
            for cut in cutdown(scenes, seconds) if seconds else []:
                render.cut.add(scene=cut.index, duration_seconds=cut.duration_s)
            made.append(render)
    return made
