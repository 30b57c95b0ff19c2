"""Ready clips (issue 17): a clip encoded as the ad's pieces are, with GOPs starting where its
crossfades begin and end, gives its caption-free body by stream copy — the very frames the
clip decodes to — and the joined ad still shows the one-pass frames and plays cleanly."""

from __future__ import annotations

import math
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.encoding import DEFAULT_CROSSFADE_S, X264_CRF, X264_PRESET, ready_keyframes
from reelforge.v1 import common_pb2, composer_pb2
from services.composer.filter_graph import frame_plan
from services.composer.ready_clips import ReadyClip
from services.composer.segments import pieces
from services.composer.timeline import Segment, Timeline
from services.generator.animatic import render_clip, render_image
from services.studio.prompts import clip_targets
from tests.composer.media import make_clip, make_music, video_frames
from tests.composer.pieces import (
    CLIP_S,
    FPS,
    TRANSITION_S,
    Ads,
    compose_request,
    ffmpeg_stderr,
    ssim_per_frame,
)

OVERLAP = round(TRANSITION_S * FPS)  # 6 frames of each 24-frame clip are crossfaded
BODY = (OVERLAP, round(CLIP_S * FPS) - OVERLAP)  # GOPs start here: the bodies' bounds
FRAMES = round((3 * CLIP_S - 2 * TRANSITION_S) * FPS)
# The composer's draft encode (what its pieces are) at the test size.
DRAFT = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")


def _ready(source: Path, dest: Path, keyframes: tuple[int, ...] = BODY) -> Path:
    """``source`` re-encoded as a ready clip: the draft encode, an IDR at each of ``keyframes``
    (what the offline animatic writes)."""
    at = "+".join(f"eq(n,{frame})" for frame in keyframes)
    ffmpeg_stderr(
        "-i", str(source), *DRAFT, "-force_key_frames", f"expr:{at}", "-c:a", "copy", str(dest)
    )
    return dest


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three ready clips (each its own picture), one clip that is not (default GOPs), music."""
    root = tmp_path_factory.mktemp("ready")
    made = []
    for index, hue in enumerate((0, 120, 240, 60)):
        plain = make_clip(root / f"plain{index}.mp4", CLIP_S, tone_hz=300 + 100 * index)
        tinted = root / f"tinted{index}.mp4"
        ffmpeg_stderr("-i", str(plain), "-vf", f"hue=h={hue}", *DRAFT, "-c:a", "copy", str(tinted))
        made.append(_ready(tinted, root / f"ready{index}.mp4") if index < 3 else tinted)
    return [*made, make_music(root / "music.m4a", 4)]


def _frame_digests(path: Path, first: int, last: int) -> list[str]:
    """The md5 of each decoded frame in [first, last] (FFmpeg's framemd5)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-vf",
         f"select='between(n,{first},{last})'", "-fps_mode", "passthrough", "-f", "framemd5", "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if not line.startswith("#")]


async def _uncaptioned(ads: Ads, clips: list[Path]) -> composer_pb2.ComposeRequest:
    request = await compose_request(ads, [*clips[:3], clips[-1]])
    for clip in request.clips:
        clip.caption = ""
    return request


async def test_caption_free_bodies_of_ready_clips_are_copied_frame_for_frame(
    ads: Ads, ready: list[Path]
) -> None:
    request = await _uncaptioned(ads, ready)
    joined = await ads.render(request)

    assert ads.cache.encoded == 2  # the two fades; the three bodies are the clips' packets
    assert video_frames(joined) == FRAMES
    # Each body's frames are the clip's own, bit for bit (decoded, not re-encoded).
    starts = [0, 24 - OVERLAP, 2 * (24 - OVERLAP)]  # where each clip begins in the ad
    for clip, at in zip(ready[:3], starts, strict=True):
        first = 0 if at == 0 else OVERLAP
        last = 24 - OVERLAP - 1 if clip != ready[2] else 23
        assert _frame_digests(joined, at + first, at + last) == _frame_digests(clip, first, last)
    # The one-pass render of the same request shows the same picture, joins included.
    one_pass = await ads.render(request, pieces=False)
    assert video_frames(one_pass) == FRAMES
    assert min(ssim_per_frame(joined, one_pass)) >= 0.98
    assert ffmpeg_stderr("-v", "error", "-i", str(joined), "-f", "null", "-") == ""
    detect = ffmpeg_stderr("-i", str(joined), "-vf", f"freezedetect=n=-60dB:d={1.5 / FPS:.4f},"
                     f"blackdetect=d={1 / FPS:.4f}", "-f", "null", "-")  # fmt: skip
    assert "freeze_start" not in detect and "black_start" not in detect, detect


async def test_a_scene_swapped_for_another_ready_clip_encodes_only_its_two_fades(
    ads: Ads, ready: list[Path]
) -> None:
    request = await _uncaptioned(ads, ready)
    await ads.render(request)
    assert ads.cache.encoded == 2

    swapped = composer_pb2.ComposeRequest()
    swapped.CopyFrom(request)
    swapped.clips[1].source = request.clips[0].source  # the regenerated middle scene
    output = await ads.render(swapped)
    assert ads.cache.encoded == 2 + 2
    assert video_frames(output) == FRAMES
    assert min(ssim_per_frame(output, await ads.render(swapped, pieces=False))) >= 0.98


async def test_bodies_with_something_drawn_over_them_or_without_whole_gops_are_encoded(
    ads: Ads, ready: list[Path]
) -> None:
    request = await _uncaptioned(ads, ready)
    request.clips[1].caption = "It cleans itself"  # shows over the middle body
    request.clips[2].source = (await ads.store.put_file(ready[3], "video/mp4")).id  # one GOP
    joined = await ads.render(request)

    assert ads.cache.encoded == 2 + 2  # the fades, the captioned body, the last clip's body
    assert video_frames(joined) == FRAMES
    assert min(ssim_per_frame(joined, await ads.render(request, pieces=False))) >= 0.98


def test_a_copy_needs_whole_gops() -> None:
    clip = ReadyClip(24, frozenset({0, 6, 18}))
    assert clip.spans(0, 18) and clip.spans(6, 18) and clip.spans(18, 24)
    assert not clip.spans(6, 17)  # a frame before a later GOP's IDR may refer to it
    assert not clip.spans(5, 18)  # frame 5 needs the GOP from frame 0
    assert not clip.spans(6, 25) and not clip.spans(18, 18)


@pytest.mark.parametrize("fps", [12, 24, 30])
def test_every_body_of_an_ad_made_of_animatic_clips_is_whole_gops(fps: int) -> None:
    """The studio asks for each clip a little longer than its scene (hundredths, rounded up)
    and the composer cuts bodies by the ad's running time in frames: with GOPs started at
    ready_keyframes, every body it cuts is whole GOPs of its clip, whatever the rounding —
    except a body that needs a frame past the clip's last (the composer repeats that frame)."""
    rng = random.Random(fps)
    bodies, short = 0, 0
    for _ in range(200):
        scenes = [rng.randint(150, 900) / 100 for _ in range(rng.randint(2, 8))]
        targets = clip_targets(scenes, DEFAULT_CROSSFADE_S)
        lengths = [round(math.ceil(t * 100) / 100 * fps) for t in targets]  # the clips' frames
        clip: Any = None  # the plan reads only durations
        timeline = Timeline([Segment(clip, t) for t in targets], DEFAULT_CROSSFADE_S)
        found = pieces(frame_plan(timeline, fps))
        assert found is not None
        for cut in (piece.cuts[0] for piece in found if len(piece.cuts) == 1):
            frames = lengths[cut.clip]
            bodies += 1
            if cut.end > frames:
                short += 1
                continue
            gops = ReadyClip(frames, frozenset([0, *ready_keyframes(frames, fps)]))
            assert gops.spans(cut.start, cut.end), (scenes, cut, frames)
    assert short <= bodies * 0.1, (short, bodies)


async def test_the_animatic_writes_ready_clips(ads: Ads, tmp_path: Path) -> None:
    """Clips rendered as the offline provider renders them (the composer's draft encode, GOPs
    for the default crossfade) are ready: a caption-free ad of them encodes only its fades."""
    made = []
    for index, motion in enumerate(("push in", "pan left", "pull out")):
        still = tmp_path / f"still{index}.png"
        render_image(
            prompt=f"scene {index}", caption="", palette=[], width=180, height=320,
            seed=index + 1, dest=still,
        )  # fmt: skip
        dest = tmp_path / f"clip{index}.mp4"
        await render_clip(
            image=still, duration_s=2.0, width=180, height=320, fps=FPS, seed=7, dest=dest,
            motion=motion, preset=X264_PRESET[common_pb2.TIER_DRAFT],
            crf=X264_CRF[common_pb2.TIER_DRAFT], ready_for_crossfade_s=DEFAULT_CROSSFADE_S,
        )  # fmt: skip
        made.append(dest)
    request = await _uncaptioned(ads, [*made, make_music(tmp_path / "music.m4a", 6)])
    request.transition_seconds = DEFAULT_CROSSFADE_S
    joined = await ads.render(request)

    assert ads.cache.encoded == 2
    assert video_frames(joined) == round((3 * 2.0 - 2 * DEFAULT_CROSSFADE_S) * FPS)
    assert min(ssim_per_frame(joined, await ads.render(request, pieces=False))) >= 0.98
    assert ffmpeg_stderr("-v", "error", "-i", str(joined), "-f", "null", "-") == ""
