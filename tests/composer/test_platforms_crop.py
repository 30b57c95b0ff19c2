"""Platform frames: every aspect ratio's exact size, clips of another shape cropped to cover the
frame around their focus point (never letter-boxed unless FIT_PAD asks), in both render paths."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.errors import InvalidArgument
from reelforge.runtime.media import probe
from reelforge.v1 import common_pb2, composer_pb2, composer_pb2_grpc
from services.composer.output_format import frame_size
from services.composer.platforms import PLATFORMS
from services.composer.validation import validate_compose
from tests.composer.helpers import compose_and_wait, put
from tests.composer.media import frame_at
from tests.grpc_helpers import field_violations

if TYPE_CHECKING:
    Stub = composer_pb2_grpc.ComposerServiceAsyncStub

COMPLETED = composer_pb2.COMPOSITION_STATE_COMPLETED
HEIGHT, FPS = 320, 12
# Size at height 320 of each shape; the width follows the aspect ratio, even.
SIZES = {
    common_pb2.ASPECT_RATIO_9_16: (180, 320),
    common_pb2.ASPECT_RATIO_4_5: (256, 320),
    common_pb2.ASPECT_RATIO_1_1: (320, 320),
    common_pb2.ASPECT_RATIO_16_9: (568, 320),
}
_OFF = composer_pb2.CaptionOptions(mode=composer_pb2.CAPTION_MODE_OFF)
# The clips' colours (RGB): a blue picture with a green bar down its left tenth.
BLUE, GREEN = (48, 128, 192), (0, 255, 0)
# A letter-box bar is black (RGB ≤ ~16 after x264); the picture's darkest channel mix is far above.
BLACK_MAX = 24
# How far (per channel, mean) a region may be from the colour it shows: x264 and scaling blur.
COLOUR_TOLERANCE = 30
# A size bound sends the request down the one-pass path (segments.one_pass_reason); this one
# (1 TiB) binds nothing — it asked libx264 for more than it takes and failed the render until
# size_budget capped the bitrate. No bound lets the service take the pieces when it has a cache.
PATHS = {"one pass": 1 << 40, "pieces or one pass": 0}


def _make_clip(path: Path, size: str) -> Path:
    """1 s of flat blue at 24 fps with a green bar over the left tenth of the width."""
    picture = f"color=c=0x3080c0:size={size}:rate=24:duration=1"
    bar = "drawbox=x=0:y=0:w=iw/10:h=ih:color=0x00ff00:t=fill"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", picture, "-vf", bar,
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("crop")
    return {
        "vertical": _make_clip(root / "vertical.mp4", "180x320"),
        "landscape": _make_clip(root / "landscape.mp4", "320x180"),
    }


def _near(region: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.abs(region.reshape(-1, 3).mean(axis=0) - colour).max() <= COLOUR_TOLERANCE)


async def _render(
    stub: Stub,
    store: ArtifactStore,
    clip: composer_pb2.ClipInput,
    at_s: float = 0.5,
    **fields: Any,
) -> tuple[composer_pb2.Composition, np.ndarray]:
    """The composition of ``clip`` at height 320 and 12 fps, and its frame at ``at_s``."""
    request = composer_pb2.ComposeRequest(clips=[clip], height=HEIGHT, fps=FPS, **fields)
    done = await compose_and_wait(stub, request)
    assert done.state == COMPLETED, done.error
    path = store.path_for(done.output.id)
    info = await probe(path)
    assert (info.width, info.height) == (done.width, done.height)
    return done, frame_at(path, at_s, done.width, done.height)


@pytest.mark.parametrize("bound", PATHS.values(), ids=PATHS.keys())
async def test_every_shape_is_exact_and_filled_to_its_edges(
    stub: Stub, store: ArtifactStore, clips: dict[str, Path], bound: int
) -> None:
    """A vertical clip in each frame shape: the exact size, and no bars: the outer columns and
    rows show the clip's own blue or green (a letter-box would be black there)."""
    source = await put(store, clips["vertical"])
    for aspect, size in SIZES.items():
        clip = composer_pb2.ClipInput(source=source)
        done, frame = await _render(stub, store, clip, aspect_ratio=aspect, max_size_bytes=bound)
        assert (done.width, done.height) == size, common_pb2.AspectRatio.Name(aspect)
        for edge in (frame[:, :4], frame[:, -4:], frame[:4], frame[-4:]):
            assert edge.max(axis=2).min() > BLACK_MAX, common_pb2.AspectRatio.Name(aspect)
        # The right edge is the picture's blue: the frame is the clip, not the clip's bar stretched.
        assert _near(frame[:, -8:], BLUE), common_pb2.AspectRatio.Name(aspect)


@pytest.mark.parametrize("bound", PATHS.values(), ids=PATHS.keys())
async def test_the_focus_point_moves_the_crop(
    stub: Stub, store: ArtifactStore, clips: dict[str, Path], bound: int
) -> None:
    """A landscape clip in a 9:16 frame keeps about a third of its width: centred, the green bar
    at its left edge is cropped away; with focus_x near the left it shows at the frame's left.
    The same server renders both, so a cached piece of the first cannot stand in for the second."""
    source = await put(store, clips["landscape"])
    vertical = {"aspect_ratio": common_pb2.ASPECT_RATIO_9_16, "max_size_bytes": bound}
    _, centred = await _render(stub, store, composer_pb2.ClipInput(source=source), **vertical)
    left = composer_pb2.ClipInput(source=source, focus_x=0.05)
    _, focused = await _render(stub, store, left, **vertical)
    # The bar is 57 px of the 569 px wide scaled clip; the crop shows 180 px of it.
    assert _near(centred[:, :8], BLUE) and _near(centred[:, -8:], BLUE)
    assert _near(focused[:, :40], GREEN) and _near(focused[:, -8:], BLUE)
    right = composer_pb2.ClipInput(source=source, focus_x=1.0, focus_y=0.0)
    _, pushed = await _render(stub, store, right, **vertical)
    assert _near(pushed[:, :8], BLUE) and _near(pushed[:, -8:], BLUE)


async def test_fit_pad_letterboxes_only_when_asked(
    stub: Stub, store: ArtifactStore, clips: dict[str, Path]
) -> None:
    source = await put(store, clips["vertical"])
    clip = composer_pb2.ClipInput(source=source)
    done, frame = await _render(
        stub, store, clip, aspect_ratio=common_pb2.ASPECT_RATIO_1_1, fit=common_pb2.FIT_PAD
    )
    assert (done.width, done.height) == (320, 320)
    # The 180×320 picture in the middle, black bars of 70 px on either side.
    assert frame[:, :60].max() <= BLACK_MAX and frame[:, -60:].max() <= BLACK_MAX
    assert _near(frame[:, 150:170], BLUE)


@pytest.mark.parametrize(
    ("tier", "size"),
    [(common_pb2.TIER_PRODUCTION, (1080, 1350)), (common_pb2.TIER_DRAFT, (720, 900))],
)
def test_feed_sizes_of_each_tier(tier: common_pb2.Tier.ValueType, size: tuple[int, int]) -> None:
    assert frame_size(common_pb2.ASPECT_RATIO_4_5, tier, 0) == size


BAD_FOCUS = [
    ({"focus_x": 1.5}, "clips[0].focus_x"),
    ({"focus_y": -0.1}, "clips[0].focus_y"),
    ({"focus_x": float("nan")}, "clips[0].focus_x"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_FOCUS)
async def test_a_focus_point_outside_the_picture_is_refused_by_name(
    stub: Stub, fields: dict[str, Any], field: str
) -> None:
    clip = composer_pb2.ClipInput(source="ab" * 32, **fields)
    bad = await field_violations(stub.Compose(composer_pb2.ComposeRequest(clips=[clip])))
    assert field in bad and "between 0 and 1" in bad[field], bad


def test_an_unknown_fit_is_refused_by_name() -> None:
    request = composer_pb2.ComposeRequest(clips=[composer_pb2.ClipInput(source="ab" * 32)])
    request.fit = common_pb2.Fit.ValueType(9)
    with pytest.raises(InvalidArgument, match=r"\bfit\b"):
        validate_compose(request)


_LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="90" height="40" viewBox="0 0 90 40">'
    '<rect width="90" height="40" fill="#E0107A"/></svg>'
)
# The card's background: far from the logo's magenta, the button's yellow and white text.
CARD_BLUE = (16, 64, 192)
# x264's 4:2:0 chroma and libass's antialiasing spread an edge by a pixel or two.
BLUR_PX = 2


def _inside(mask: np.ndarray, box: tuple[int, int, int, int], what: str) -> None:
    rows, cols = np.nonzero(mask)
    assert len(rows) > 20, f"no {what} was drawn"
    left, top, right, bottom = box
    assert left - BLUR_PX <= cols.min() and cols.max() < right + BLUR_PX, (what, cols, box)
    assert top - BLUR_PX <= rows.min() and rows.max() < bottom + BLUR_PX, (what, rows, box)


# The frame shapes other than 9:16 (whose safe zones test_captions and test_end_card cover).
@pytest.mark.parametrize(
    ("platform", "aspect"),
    [
        ("feed", common_pb2.ASPECT_RATIO_4_5),
        ("square", common_pb2.ASPECT_RATIO_1_1),
        ("landscape", common_pb2.ASPECT_RATIO_16_9),
    ],
)
async def test_captions_watermark_and_card_stay_in_the_safe_zone_at_each_size(
    stub: Stub,
    store: ArtifactStore,
    clips: dict[str, Path],
    platform: str,
    aspect: common_pb2.AspectRatio.ValueType,
) -> None:
    """The vertical clip rendered for each platform's frame: against the same render without
    them, the caption and the watermark change pixels only inside the platform's safe zone at
    the new size; on the end card everything but its background lies inside it too."""
    source = await put(store, clips["vertical"])
    logo = (await store.put_bytes(_LOGO_SVG.encode(), "image/svg+xml")).id
    clip = composer_pb2.ClipInput(source=source, caption="Light that follows you home")
    shape: dict[str, Any] = {"aspect_ratio": aspect, "platform": platform}
    plain, bare = await _render(stub, store, clip, **shape, captions=_OFF, max_size_bytes=0)
    width, height = plain.width, plain.height
    box = PLATFORMS[platform].safe_box(width, height)
    mark = composer_pb2.Watermark(logo=logo, corner=composer_pb2.CORNER_BOTTOM_RIGHT, opacity=1)
    _, frame = await _render(stub, store, clip, **shape, watermark=mark)
    _inside(np.abs(frame - bare).sum(axis=2) > 60, box, "caption or watermark")
    card = composer_pb2.EndCard(
        logo=logo,
        headline="Lumen",
        call_to_action="Shop now",
        palette=["#1040C0", "#FFD400"],
        duration_seconds=2.0,
    )
    # The 1 s clip held to the card's 2 s; the card has faded in (0.4 s) by 1.5 s.
    clip.target_duration_seconds = 2.0
    _, settled = await _render(
        stub, store, clip, **shape, end_card=card, hold_last_frame=True, at_s=1.5
    )
    _inside(np.abs(settled - CARD_BLUE).max(axis=2) > 60, box, "end card content")
