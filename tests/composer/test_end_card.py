"""The end card and the logo watermark in the rendered picture (issue 15): the ad's real FFmpeg
command (``filter_graph.build_command``) with the overlays ``overlays.prepare_overlays`` drew
from stored brand files, frames read back and looked at — the brand colour covering the last
seconds, the logo found by template match, the frame before the card still the clip — and
the requests and files that are refused, each naming its field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import numpy as np
import pytest
from PIL import Image, ImageDraw

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.errors import InvalidArgument
from reelforge.runtime.ffmpeg import run_ffmpeg
from reelforge.runtime.media import probe
from reelforge.v1 import common_pb2, composer_pb2, composer_pb2_grpc
from services.composer.caption_plan import captions_document
from services.composer.captions import Word
from services.composer.filter_graph import Encode, build_command
from services.composer.inputs import Fetcher
from services.composer.mix import Sound
from services.composer.output_format import OutputFormat
from services.composer.overlays import FADE_S, Overlays, prepare_overlays
from services.composer.platforms import PLATFORMS
from services.composer.render_errors import RenderFailed
from services.composer.renderer import RenderContext, State, render
from services.composer.segment_cache import SegmentCache
from services.composer.timeline import ProbedInput, Segment, Timeline, build_timeline
from services.composer.validation import validate_compose
from tests.composer.helpers import Media, compose_and_wait, put
from tests.composer.media import frame_at, make_clip, video_frames
from tests.grpc_helpers import field_violations

if TYPE_CHECKING:
    Stub = composer_pb2_grpc.ComposerServiceAsyncStub

S = composer_pb2
_W, _H, _FPS = 180, 320, 24
_BLUE = (0x10, 0x40, 0xC0)  # the card's background, far from every testsrc colour
_MAGENTA = (0xE0, 0x10, 0x7A)  # the logo's body
_SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" width="90" height="40" viewBox="0 0 90 40">'
    '<rect x="0" y="0" width="90" height="40" rx="6" fill="#E0107A"/>'
    '<circle cx="20" cy="20" r="11" fill="#FFFFFF"/>'
    '<rect x="42" y="12" width="36" height="16" fill="#FFFFFF"/></svg>'
)


def _logo_png(path: Path) -> Path:
    """The SVG's design as a PNG with a transparent margin: a magenta pill, a white dot and bar."""
    img = Image.new("RGBA", (110, 60), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((10, 10, 99, 49), radius=6, fill=(*_MAGENTA, 255))
    draw.ellipse((19, 19, 41, 41), fill="white")
    draw.rectangle((52, 22, 87, 37), fill="white")
    img.save(path)
    return path


def _template(size: tuple[int, int]) -> np.ndarray:
    """The logo's visible part (the pill) drawn at ``size``, RGB."""
    width, height = size
    img = Image.new("RGB", (90 * 4, 40 * 4), _MAGENTA)
    draw = ImageDraw.Draw(img)
    draw.ellipse((9 * 4, 9 * 4, 31 * 4, 31 * 4), fill="white")
    draw.rectangle((42 * 4, 12 * 4, 78 * 4, 28 * 4), fill="white")
    return np.asarray(img.resize((width, height), Image.Resampling.BOX)).astype(float)


def _near(frame: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    distance: np.ndarray = np.abs(frame - np.array(colour)).sum(axis=2)
    return distance < tolerance


def _logo_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the magenta pixels: where the logo was drawn."""
    rows, cols = np.nonzero(_near(frame, _MAGENTA, 60))
    assert len(rows) > 30, "no logo-coloured pixels"
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _logo_match(frame: np.ndarray) -> float:
    """Normalised cross-correlation of the logo's design with the frame where the logo is."""
    left, top, right, bottom = _logo_box(frame)
    patch = frame[top:bottom, left:right].astype(float)
    template = _template((right - left, bottom - top))
    a, b = patch - patch.mean(), template - template.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.fixture
async def fetcher(store: ArtifactStore) -> AsyncIterator[Fetcher]:
    async with aiohttp.ClientSession() as session:
        yield Fetcher(store, session, allow=[], max_bytes=10_000_000, attempts=1)


@pytest.fixture(scope="module")
def clip_4s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("card") / "clip4.mp4", 4)


@pytest.fixture(scope="module")
def flat_4s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One flat grey-blue: testsrc's colour bars hold pinks the logo search would find."""
    return make_clip(tmp_path_factory.mktemp("flat") / "flat4.mp4", 4, colour="0x607080")


async def _timeline(clip: Path) -> Timeline:
    return build_timeline([ProbedInput("clips[0]", clip, await probe(clip))], [0.0], 0.5, False)


async def _render(
    request: S.ComposeRequest, clip: Path, fetcher: Fetcher, tmp_path: Path
) -> tuple[Path, Overlays]:
    """The ad's one-pass FFmpeg command with the request's overlays, run; the MP4's path."""
    timeline = await _timeline(clip)
    workdir = tmp_path / "work"
    workdir.mkdir(parents=True)
    overlays = await prepare_overlays(request, fetcher, timeline.total_s, (_W, _H), workdir)
    fmt = OutputFormat(_W, _H, _FPS, "ultrafast", 18, "fade", 0.5, -14.0)
    output = tmp_path / "ad.mp4"
    argv = build_command(timeline, Sound(timeline), fmt, output, Encode(crf=18), None, overlays)
    await run_ffmpeg(argv, timeout_s=120)
    return output, overlays


async def _stored(store: ArtifactStore, data: bytes, mime: str) -> str:
    return (await store.put_bytes(data, mime)).id


def _card(logo: str, **fields: object) -> S.EndCard:
    values: dict[str, object] = {
        "logo": logo,
        "headline": "Lumen",
        "call_to_action": "Shop now",
        "palette": ["#1040C0", "#FFD400"],
        "duration_seconds": 2.0,
    }
    values.update(fields)
    return S.EndCard(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["png", "svg"])
async def test_the_last_two_seconds_are_the_end_card(
    store: ArtifactStore, fetcher: Fetcher, clip_4s: Path, tmp_path: Path, kind: str
) -> None:
    if kind == "svg":
        logo = await _stored(store, _SVG.encode(), "image/svg+xml")
    else:
        logo = await _stored(store, _logo_png(tmp_path / "logo.png").read_bytes(), "image/png")
    request = S.ComposeRequest(end_card=_card(logo))

    ad, _ = await _render(request, clip_4s, fetcher, tmp_path)

    assert (await probe(ad)).duration_seconds == pytest.approx(4.0, abs=0.05), "length kept"
    before, fading = frame_at(ad, 1.9, _W, _H), frame_at(ad, 2.0 + FADE_S / 2, _W, _H)
    assert _near(before, _BLUE).mean() < 0.05, "before the card: the clip"
    for at_s in (2.0 + FADE_S + 0.1, 3.0, 3.9):
        frame = frame_at(ad, at_s, _W, _H)
        assert _near(frame, _BLUE).mean() > 0.6, f"the brand colour dominates at {at_s} s"
        assert _logo_match(frame) > 0.8, f"the logo is on the card at {at_s} s"
        left, top, right, bottom = _logo_box(frame)
        zone = PLATFORMS["tiktok"].safe_box(_W, _H)
        assert zone[0] <= left and right <= zone[2] and zone[1] <= top and bottom <= zone[3]
    settled = frame_at(ad, 3.0, _W, _H)
    rows, cols = np.nonzero(~_near(settled, _BLUE, 60))  # logo, headline, button
    zone, blur = PLATFORMS["tiktok"].safe_box(_W, _H), 2  # x264's 4:2:0 chroma spreads edges
    assert zone[0] - blur <= cols.min() and cols.max() < zone[2] + blur, "text inside the zone"
    assert zone[1] - blur <= rows.min() and rows.max() < zone[3] + blur
    # Mid-fade the clip still shows through: neither the clip's frame nor the card yet.
    assert np.abs(fading - settled).mean() > 10 and np.abs(fading - before).mean() > 10
    assert np.abs(frame_at(ad, 3.9, _W, _H) - settled).mean() < 3, "the card holds"


async def test_the_product_photo_stands_above_the_logo(
    store: ArtifactStore, fetcher: Fetcher, clip_4s: Path, tmp_path: Path
) -> None:
    photo = Image.new("RGB", (300, 400), (240, 120, 30))  # an opaque orange "photo"
    ImageDraw.Draw(photo).ellipse((60, 60, 240, 340), fill="white")
    photo.save(tmp_path / "product.jpg", quality=95)
    logo = await _stored(store, _SVG.encode(), "image/svg+xml")
    product = await _stored(store, (tmp_path / "product.jpg").read_bytes(), "image/jpeg")
    request = S.ComposeRequest(end_card=_card(logo, product_image=product))

    ad, _ = await _render(request, clip_4s, fetcher, tmp_path)

    frame = frame_at(ad, 3.0, _W, _H)
    rows, cols = np.nonzero(_near(frame, (240, 120, 30), 60))
    assert len(rows) > 200, "the product photo is on the card"
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert height / width == pytest.approx(4 / 3, rel=0.1), "its shape kept"
    assert rows.max() < _logo_box(frame)[1], "above the logo"
    assert _near(frame, _BLUE).mean() > 0.4


async def test_a_card_longer_than_the_probed_ad_fails_naming_its_field(
    store: ArtifactStore, fetcher: Fetcher, tmp_path: Path
) -> None:
    request = S.ComposeRequest(end_card=S.EndCard(headline="Lumen", duration_seconds=2))
    with pytest.raises(RenderFailed, match=r"^end_card\.duration_seconds: .*1\.50 s"):
        await prepare_overlays(request, fetcher, 1.5, (_W, _H), tmp_path)


async def test_a_composed_ad_ends_on_its_card_with_the_watermark_before_it(
    stub: Stub, store: ArtifactStore, media: Media, tmp_path: Path
) -> None:
    """Through Compose: two 2 s clips (3.5 s ad), a 2 s end card, a watermark, and a scene
    caption on the last clip that must not be drawn over the card."""
    clip = await put(store, media.clip_2s)
    logo = await _stored(store, _SVG.encode(), "image/svg+xml")
    request = S.ComposeRequest(
        clips=[
            S.ClipInput(source=clip, target_duration_seconds=2),
            S.ClipInput(source=clip, target_duration_seconds=2, caption="SHOP THE LUMEN"),
        ],
        height=_H,
        fps=_FPS,
        tier=common_pb2.TIER_DRAFT,
        end_card=_card(logo),
        watermark=S.Watermark(logo=logo, corner=S.CORNER_TOP_LEFT, size=0.25, opacity=1.0),
    )

    done = await compose_and_wait(stub, request)

    assert done.state == S.COMPOSITION_STATE_COMPLETED, done.error
    assert (done.width, done.height) == (_W, _H)
    assert done.duration_seconds == pytest.approx(3.5, abs=0.05)
    ad = store.path_for(done.output.id)
    before = frame_at(ad, 1.4, _W, _H)
    assert _near(before, _BLUE).mean() < 0.05, "the clip plays until the card"
    left, top, right, bottom = PLATFORMS["tiktok"].safe_box(_W, _H)
    corner = before[top : (top + bottom) // 2, left : (left + right) // 2]
    assert _near(corner, _MAGENTA, 60).sum() > 100, "the watermark in the top-left corner"
    for at_s in (2.0, 2.8, 3.45):
        frame = frame_at(ad, at_s, _W, _H)
        assert _near(frame, _BLUE).mean() > 0.6, f"the card at {at_s} s"
        assert _logo_match(frame) > 0.8, f"the card's logo at {at_s} s"
        # The caption's line would sit at the bottom of the safe zone: only card there.
        band = frame[bottom - _H // 8 : bottom, left:right]
        assert _near(band, _BLUE).mean() > 0.97, f"no caption over the card at {at_s} s"


class _Quiet:
    async def phase(self, state: State, percent: float, message: str) -> None:
        return None

    def progress(self, percent: float, message: str) -> None:
        return None


@pytest.mark.parametrize("pieces", [True, False], ids=["pieces", "one_pass"])
@pytest.mark.parametrize(("fps", "card_s"), [(12, 1.5), (24, 1.3)], ids=["on_a_frame", "between"])
async def test_an_end_card_and_watermark_keep_the_ads_exact_frame_count(
    store: ArtifactStore,
    fetcher: Fetcher,
    clip_4s: Path,
    tmp_path: Path,
    pieces: bool,
    fps: int,
    card_s: float,
) -> None:
    """Two 1.5 s clips and a 0.5 s crossfade: 2.5 s, exactly 2.5 × fps frames, with the card
    starting on a frame (12 fps: frame 12) or between two (24 fps: 28.8). The looped card
    once ran a frame past the picture, and overlay kept repeating the ad's last frame under
    it (73 frames for a 72-frame ad)."""
    clip = await put(store, clip_4s)
    logo = await _stored(store, _SVG.encode(), "image/svg+xml")
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip, target_duration_seconds=1.5)] * 2,
        transition_seconds=0.5,
        height=_H,
        fps=fps,
        tier=common_pb2.TIER_DRAFT,
        end_card=_card(logo, duration_seconds=card_s),
        watermark=S.Watermark(logo=logo),
    )
    cache = SegmentCache(tmp_path / "cache") if pieces else None
    context = RenderContext(fetcher, store, "development", timeout_s=120, segments=cache)

    result = await render(request, context, _Quiet(), tmp_path / "work")

    assert cache is None or cache.encoded == 3  # two bodies and the fade: the pieces path
    output = store.path_for(result.artifact.id)
    assert video_frames(output) == round(2.5 * fps)
    assert result.info.duration_seconds == pytest.approx(2.5, abs=0.5 / fps)


async def test_the_watermark_sits_in_its_corner_until_the_card(
    store: ArtifactStore, fetcher: Fetcher, flat_4s: Path, tmp_path: Path
) -> None:
    logo = await _stored(store, _SVG.encode(), "image/svg+xml")
    mark = S.Watermark(logo=logo, corner=S.CORNER_BOTTOM_LEFT, size=0.3, opacity=1.0)
    request = S.ComposeRequest(watermark=mark, end_card=S.EndCard(headline="Lumen"))

    ad, overlays = await _render(request, flat_4s, fetcher, tmp_path)

    left, top, right, bottom = PLATFORMS["tiktok"].safe_box(_W, _H)
    for at_s in (0.2, 0.8, 1.4):  # the card (2.5 s by default) starts at 1.5 s
        frame = frame_at(ad, at_s, _W, _H)
        box = _logo_box(frame)
        assert _logo_match(frame) > 0.8, f"the logo is drawn at {at_s} s"
        assert left <= box[0] and box[2] <= (left + right) / 2, "in the left half of the zone"
        assert (top + bottom) / 2 <= box[1] and box[3] <= bottom, "in the bottom half"
        assert box[2] - box[0] == pytest.approx(0.3 * _W, abs=3), "size is a width fraction"
    assert overlays.end_card is not None
    card = frame_at(ad, 3.5, _W, _H)
    assert not _near(card, _MAGENTA, 60).any(), "the end card covers the watermark"


async def test_a_translucent_watermark_lets_the_clip_through(
    store: ArtifactStore, fetcher: Fetcher, flat_4s: Path, tmp_path: Path
) -> None:
    logo = await _stored(store, _SVG.encode(), "image/svg+xml")
    opaque = S.ComposeRequest(watermark=S.Watermark(logo=logo, size=0.3, opacity=1.0))
    faint = S.ComposeRequest(watermark=S.Watermark(logo=logo, size=0.3, opacity=0.3))
    plain, _ = await _render(S.ComposeRequest(), flat_4s, fetcher, tmp_path / "plain")
    solid, _ = await _render(opaque, flat_4s, fetcher, tmp_path / "opaque")
    light, _ = await _render(faint, flat_4s, fetcher, tmp_path / "faint")

    frames = [frame_at(path, 1.0, _W, _H) for path in (plain, solid, light)]
    box = _logo_box(frames[1])
    left, top, right, bottom = PLATFORMS["tiktok"].safe_box(_W, _H)
    assert box[0] >= (left + right) / 2 and box[3] <= (top + bottom) / 2, "top right by default"
    patch = [f[box[1] : box[3], box[0] : box[2]] for f in frames]
    full, part = np.abs(patch[1] - patch[0]).mean(), np.abs(patch[2] - patch[0]).mean()
    assert 0.15 * full < part < 0.5 * full, (full, part)


def test_captions_stop_where_the_card_starts() -> None:
    clip = ProbedInput("clips[0]", Path("unused.mp4"), None)  # type: ignore[arg-type]
    timeline = Timeline([Segment(clip, 3.0), Segment(clip, 3.0)], 0.5)  # 5.5 s
    words = [Word("Shop", 2.0, 2.4), Word("now", 2.5, 2.9), Word("today", 3.3, 3.8)]
    request = S.ComposeRequest(
        clips=[S.ClipInput(caption="Meet Lumen"), S.ClipInput(caption="Shop now")],
        end_card=S.EndCard(headline="Lumen", duration_seconds=2.5),
    )
    for mode in (S.CAPTION_MODE_WORDS, S.CAPTION_MODE_SCENES):
        request.captions.mode = mode
        document = captions_document(request, timeline, (_W, _H), words)
        assert document is not None
        ends = [line.split(",")[2] for line in document.splitlines() if line.startswith("Dialogue")]
        assert ends and max(ends) <= "0:00:03.00", (mode, ends)  # the card starts at 3.0 s


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("end_card.logo", b"<html>not an image</html>"),
        ("end_card.heading_font", b"\x00\x01\x00\x00 not really a font"),
        ("captions.style.font_file", b"OTTO broken"),
        ("watermark.logo", b'<svg xmlns="http://www.w3.org/2000/svg"><rect'),
    ],
)
async def test_an_unreadable_brand_file_fails_naming_its_field(
    store: ArtifactStore, fetcher: Fetcher, tmp_path: Path, field: str, data: bytes
) -> None:
    bad = await _stored(store, data, "application/octet-stream")
    request = S.ComposeRequest(end_card=S.EndCard(headline="Lumen"))
    head, _, name = field.rpartition(".")
    if head == "end_card":
        setattr(request.end_card, name, bad)
    elif head == "watermark":
        request.watermark.logo = bad
    else:
        request.captions.style.font_file = bad

    with pytest.raises(RenderFailed) as caught:
        await prepare_overlays(request, fetcher, 4.0, (_W, _H), tmp_path)
    assert caught.value.message.startswith(f"{field}: "), caught.value.message


async def test_an_svg_cannot_draw_the_servers_files(
    store: ArtifactStore, fetcher: Fetcher, tmp_path: Path
) -> None:
    secret = _logo_png(tmp_path / "secret.png")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="110" height="60"><image width="110" height="60" xlink:href="file://{secret}"/>'
        '<image width="110" height="60" xlink:href="secret.png"/></svg>'
    )
    logo = await _stored(store, svg.encode(), "image/svg+xml")
    request = S.ComposeRequest(watermark=S.Watermark(logo=logo, opacity=1.0))

    overlays = await prepare_overlays(request, fetcher, 4.0, (_W, _H), tmp_path)

    assert overlays.watermark is not None
    with Image.open(overlays.watermark.image) as drawn:
        assert drawn.getchannel("A").getextrema() == (0, 0), "the file it names is not read"


async def test_a_brand_file_missing_from_the_store_is_named(
    fetcher: Fetcher, tmp_path: Path
) -> None:
    request = S.ComposeRequest(watermark=S.Watermark(logo="ab" * 32))
    with pytest.raises(RenderFailed, match=r"^watermark\.logo: artifact .* is not in the store"):
        await prepare_overlays(request, fetcher, 4.0, (_W, _H), tmp_path)


_ID = "ab" * 32
_CLIPS = [S.ClipInput(source=_ID, target_duration_seconds=3)]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (S.ComposeRequest(clips=_CLIPS, end_card=S.EndCard()), "end_card"),
        (S.ComposeRequest(clips=_CLIPS, end_card=S.EndCard(logo="x.png")), "end_card.logo"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, duration_seconds=4)), "end_card.duration_seconds"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, duration_seconds=1)), "end_card.duration_seconds"),
        (S.ComposeRequest(clips=[S.ClipInput(source=_ID, target_duration_seconds=2)], end_card=_card(_ID, duration_seconds=2.5)), "end_card.duration_seconds"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, palette=["#102030", "blue"])), "end_card.palette[1]"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, palette=["#102030"] * 7)), "end_card.palette"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, headline="x" * 101)), "end_card.headline"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, call_to_action="a\nb")), "end_card.call_to_action"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, heading_font="ftp://x/f.ttf")), "end_card.heading_font"),
        (S.ComposeRequest(clips=_CLIPS, end_card=_card(_ID, product_image="nope")), "end_card.product_image"),
        (S.ComposeRequest(clips=_CLIPS, watermark=S.Watermark()), "watermark.logo"),
        (S.ComposeRequest(clips=_CLIPS, watermark=S.Watermark(logo=_ID, opacity=0)), "watermark.opacity"),
        (S.ComposeRequest(clips=_CLIPS, watermark=S.Watermark(logo=_ID, size=0.9)), "watermark.size"),
        (S.ComposeRequest(clips=_CLIPS, watermark=S.Watermark(logo=_ID, corner=9)), "watermark.corner"),  # type: ignore[arg-type]
        (S.ComposeRequest(clips=_CLIPS, captions=S.CaptionOptions(style=S.CaptionStyle(font_file="f.ttf"))), "captions.style.font_file"),
    ],
)  # fmt: skip
def test_each_brand_rule_names_its_field(request_: S.ComposeRequest, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_compose(request_)
    assert field in [v.field for v in caught.value.violations]


def test_good_brand_requests_pass() -> None:
    validate_compose(
        S.ComposeRequest(
            clips=_CLIPS,
            end_card=_card(_ID, heading_font=_ID, body_font="https://cdn.example/b.otf"),
            watermark=S.Watermark(logo="https://cdn.example/logo.svg", opacity=0.05, size=0.4),
            captions=S.CaptionOptions(style=S.CaptionStyle(font_file=_ID, colour="#102030")),
        )
    )
    validate_compose(S.ComposeRequest(clips=_CLIPS, end_card=S.EndCard(call_to_action="Go")))


async def test_bad_brand_fields_over_grpc_are_invalid_argument(stub: Stub) -> None:
    request = S.ComposeRequest(
        clips=[S.ClipInput(source="https://cdn.example/clip.mp4", target_duration_seconds=3)],
        end_card=_card("https://cdn.example/logo.svg", duration_seconds=1, palette=["red"]),
        watermark=S.Watermark(logo="", size=1.0),
    )
    fields = await field_violations(stub.Compose(request, timeout=5))

    assert set(fields) == {
        "end_card.duration_seconds",
        "end_card.palette[0]",
        "watermark.logo",
        "watermark.size",
    }
    assert "2 and 3" in fields["end_card.duration_seconds"]


async def test_brand_files_missing_from_the_store_are_refused_before_any_work(
    stub: Stub, store: ArtifactStore, media: Media
) -> None:
    """Like a missing clip: INVALID_ARGUMENT at Compose naming each field, not a composition
    accepted and FAILED later."""
    clip = await put(store, media.clip_1s)
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip)],
        end_card=_card(_ID, body_font="cd" * 32),
        watermark=S.Watermark(logo="ef" * 32),
        captions=S.CaptionOptions(style=S.CaptionStyle(font_file="12" * 32)),
    )
    fields = await field_violations(stub.Compose(request, timeout=5))

    assert set(fields) == {
        "end_card.logo",
        "end_card.body_font",
        "watermark.logo",
        "captions.style.font_file",
    }
    assert all("not in the store" in why for why in fields.values())
