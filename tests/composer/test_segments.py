"""The segment path (issue 17): an ad joined from cached pieces by stream copy shows the frames
of the one-pass render, plays cleanly across its joins, and encodes only pieces it lacks."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.filter_graph import Encode, FramePlan
from services.composer.output_format import OutputFormat
from services.composer.overlays import Overlays
from services.composer.segment_cache import SegmentCache
from services.composer.segments import Captions, Cut, Layout, Piece, pieces
from services.composer.timeline import ProbedInput, Segment, Timeline
from tests.composer.helpers import Media, put
from tests.composer.media import make_clip, make_music, top_level_boxes, video_frames
from tests.composer.pieces import (
    CLIP_S,
    FPS,
    TRANSITION_S,
    Ads,
    compose_request,
    ffmpeg_stderr,
    ssim_per_frame,
)
from tests.grpc_helpers import field_violations


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three distinct moving 1 s clips (testsrc's own colours, then two tints) and music."""
    root = tmp_path_factory.mktemp("segments")
    made = [make_clip(root / "clip0.mp4", CLIP_S, tone_hz=300)]
    for index, hue in ((1, 120), (2, 240)):
        source = root / f"plain{index}.mp4"
        make_clip(source, CLIP_S)
        tinted = root / f"clip{index}.mp4"
        ffmpeg_stderr("-i", str(source), "-vf", f"hue=h={hue}", "-c:v", "libx264", "-preset",
                "ultrafast", "-pix_fmt", "yuv420p", str(tinted))  # fmt: skip
        made.append(tinted)
    made.append(make_music(root / "music.m4a", 4))
    return made


def _streams(path: Path) -> dict[str, dict[str, Any]]:
    answer = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,start_time,duration",
         "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return {s["codec_type"]: s for s in json.loads(answer)["streams"]}


async def test_pieces_show_the_one_pass_frames_and_join_cleanly(
    ads: Ads, clips: list[Path]
) -> None:
    request = await compose_request(ads, clips)
    joined = await ads.render(request)
    one_pass = await ads.render(request, pieces=False)

    total_s = 3 * CLIP_S - 2 * TRANSITION_S
    assert ads.cache.encoded == 5  # three bodies and two fades
    assert video_frames(joined) == video_frames(one_pass) == round(total_s * FPS)
    # Every frame alike (the captions burned in at the same times), joins included.
    ssim = ssim_per_frame(joined, one_pass)
    assert len(ssim) == round(total_s * FPS)
    assert min(ssim) >= 0.98, ssim
    # A full decode has nothing to say: no broken references across the joins.
    assert ffmpeg_stderr("-v", "error", "-i", str(joined), "-f", "null", "-") == ""
    # Sound and picture start together and last as long (within one frame).
    streams = _streams(joined)
    video, audio = streams["video"], streams["audio"]
    assert abs(float(video["start_time"]) - float(audio["start_time"])) <= 1 / FPS
    assert abs(float(video["duration"]) - float(audio["duration"])) <= 1 / FPS
    assert abs(float(video["duration"]) - total_s) <= 1 / FPS / 2
    # No frame repeated or black where pieces meet (the clips move on every frame).
    detect = ffmpeg_stderr("-i", str(joined), "-vf", f"freezedetect=n=-60dB:d={1.5 / FPS:.4f},"
                     f"blackdetect=d={1 / FPS:.4f}", "-f", "null", "-")  # fmt: skip
    assert "freeze_start" not in detect and "black_start" not in detect, detect
    boxes = top_level_boxes(joined)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart


async def test_watermark_and_end_card_are_burned_into_pieces(
    ads: Ads, clips: list[Path], tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    image = Image.new("RGBA", (110, 60), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle((0, 0, 109, 59), 20, fill=(0xE0, 0x10, 0x7A, 255))
    image.save(logo)
    logo_id = (await ads.store.put_file(logo, "image/png")).id
    request = await compose_request(ads, clips)
    request.watermark.logo = logo_id
    # 2.2 s: the card starts 0.3 s in, between two frames, and overlaps every piece but one.
    request.end_card.CopyFrom(
        composer_pb2.EndCard(logo=logo_id, headline="Lumen", duration_seconds=2.2)
    )
    joined = await ads.render(request)
    one_pass = await ads.render(request, pieces=False)

    assert ads.cache.encoded == 5
    ssim = ssim_per_frame(joined, one_pass)
    frames = round((3 * CLIP_S - 2 * TRANSITION_S) * FPS)
    # The card ends with the ad.
    assert video_frames(joined) == video_frames(one_pass) == len(ssim) == frames
    assert min(ssim) >= 0.98, ssim
    assert ffmpeg_stderr("-v", "error", "-i", str(joined), "-f", "null", "-") == ""


async def test_a_recompose_encodes_only_the_changed_pieces(ads: Ads, clips: list[Path]) -> None:
    request = await compose_request(ads, clips)
    first = await ads.render(request)
    assert ads.cache.encoded == 5

    stored = len(list(ads.cache.root.glob("*/*.mp4")))
    assert stored == 5 + 2 + 1  # the pieces, the two lossless tails, the mastered sound
    again = await ads.render(request)
    assert ads.cache.encoded == 5  # everything reused
    assert ssim_per_frame(first, again) == [1.0] * video_frames(first)

    # A new caption on the middle scene: it shows over its body and half of each fade.
    edited = composer_pb2.ComposeRequest()
    edited.CopyFrom(request)
    edited.clips[1].caption = "Now it cleans itself"
    await ads.render(edited)
    assert ads.cache.encoded == 5 + 3
    assert len(list(ads.cache.root.glob("*/*.mp4"))) == stored + 3  # same tails, same sound

    # A regenerated last clip: its body and the fade into it.
    ids = [c.source for c in edited.clips]
    swapped = composer_pb2.ComposeRequest()
    swapped.CopyFrom(edited)
    swapped.clips[2].source = ids[0]
    output = await ads.render(swapped)
    assert ads.cache.encoded == 8 + 2
    # The new last clip has a soundtrack of its own: the sound is mixed again.
    assert len(list(ads.cache.root.glob("*/*.mp4"))) == stored + 3 + 2 + 1
    assert video_frames(output) == round((3 * CLIP_S - 2 * TRANSITION_S) * FPS)


async def test_pieces_prepared_as_clips_land_leave_the_compose_a_join(
    ads: Ads, clips: list[Path]
) -> None:
    """The studio's pipelining: PrepareSegments as the first two clips land, then the last;
    the Compose after it encodes nothing but the sound and shows the one-pass frames."""
    request = await compose_request(ads, clips)
    for clip in request.clips:
        clip.target_duration_seconds = CLIP_S
    early = composer_pb2.ComposeRequest()
    early.CopyFrom(request)
    early.clips[2].source = ""  # not made yet

    first = await ads.prepare(early)
    # Two bodies and the fade between them; the last body and the fade into it wait.
    assert (first.encoded, first.cached, first.waiting) == (3, 0, 2)
    # ... and both clips' lossless tails, the second's for the fade still to come.
    assert len(list(ads.cache.root.glob("*/*.mp4"))) == 3 + 2
    second = await ads.prepare(request)
    assert (second.encoded, second.cached, second.waiting) == (2, 3, 0)
    assert len(list(ads.cache.root.glob("*/*.mp4"))) == 5 + 2  # the tail was not made again

    joined = await ads.render(request)
    assert ads.cache.encoded == 5  # the compose encoded no piece
    assert len(list(ads.cache.root.glob("*/*.mp4"))) == 7 + 1  # the mastered sound
    one_pass = await ads.render(request, pieces=False)
    frames = round((3 * CLIP_S - 2 * TRANSITION_S) * FPS)
    assert video_frames(joined) == video_frames(one_pass) == frames
    assert min(ssim_per_frame(joined, one_pass)) >= 0.98


async def test_a_size_bound_prepares_nothing(ads: Ads, clips: list[Path]) -> None:
    request = await compose_request(ads, clips, max_size_bytes=400_000)
    prepared = await ads.prepare(request)
    assert prepared.one_pass_reason.startswith("max_size_bytes")
    assert prepared.encoded == 0 and ads.cache.encoded == 0


async def test_held_and_trimmed_clips_match_one_pass(ads: Ads, clips: list[Path]) -> None:
    """A clip held on its last frame and one cut short: the pieces take the same frames."""
    request = await compose_request(ads, clips, hold_last_frame=True)
    for clip, target in zip(request.clips, (1.5, 0.75, 1.0), strict=True):
        clip.target_duration_seconds = target
    joined = await ads.render(request)
    one_pass = await ads.render(request, pieces=False)

    assert video_frames(joined) == video_frames(one_pass) == round((3.25 - 2 * TRANSITION_S) * FPS)
    assert min(ssim_per_frame(joined, one_pass)) >= 0.98


async def test_size_bound_renders_in_one_pass(ads: Ads, clips: list[Path]) -> None:
    request = await compose_request(ads, clips, max_size_bytes=400_000)
    output = await ads.render(request)

    assert ads.cache.encoded == 0
    assert output.stat().st_size <= 400_000
    assert video_frames(output) == round((3 * CLIP_S - 2 * TRANSITION_S) * FPS)


async def test_hard_cuts_join_whole_clips(ads: Ads, clips: list[Path]) -> None:
    request = await compose_request(ads, clips, transition_seconds=0.0)
    output = await ads.render(request)

    assert ads.cache.encoded == 3
    assert video_frames(output) == round(3 * CLIP_S * FPS)
    assert ffmpeg_stderr("-v", "error", "-i", str(output), "-f", "null", "-") == ""


def test_pieces_cover_every_frame_once() -> None:
    plan = FramePlan([24, 30, 24], 6)
    found = pieces(plan)

    assert found == [
        Piece((Cut(0, 0, 18),), 0, 18),
        Piece((Cut(0, 18, 24), Cut(1, 0, 6)), 18, 6),
        Piece((Cut(1, 6, 24),), 24, 18),
        Piece((Cut(1, 24, 30), Cut(2, 0, 6)), 42, 6),
        Piece((Cut(2, 6, 24),), 48, 18),
    ]
    assert sum(p.frames for p in found) == 24 + 30 + 24 - 2 * 6
    # A middle clip no longer than its two crossfades has no body: one pass renders it.
    assert pieces(FramePlan([24, 12, 24], 6)) is None


def _layout(tmp_path: Path) -> Layout:
    path = tmp_path / "clip.mp4"
    info: Any = None  # the key never reads the probe
    clip = ProbedInput("clips[0]", path, info)
    timeline = Timeline([Segment(clip, 1.0), Segment(clip, 1.0)], 0.25)
    fmt = OutputFormat(180, 320, 24, "veryfast", 23, "fade", 0.25, -14.0)
    captions = Captions(
        tmp_path / "c.ass",
        "[Script Info]\nPlayResY: 320",
        ((0.0, 0.5, "Dialogue: 0,0:00:00.00,0:00:00.50,Default,,0,0,0,,A"),),
    )
    plan = FramePlan([24, 24], 6)
    drawn, inputs = Overlays(), ("a", "a")
    return Layout(timeline, plan, fmt, Encode(crf=23), captions, inputs, drawn, {}, (None, None))


@pytest.mark.parametrize(
    "change",
    [
        "input",
        "clip_seconds",
        "hold",
        "clip_frames",
        "size",
        "fps",
        "preset",
        "crf",
        "threads",
        "caption_text",
        "caption_style",
    ],
)
def test_any_change_to_a_piece_input_changes_its_key(tmp_path: Path, change: str) -> None:
    ad = _layout(tmp_path)
    body = Piece((Cut(0, 0, 18),), 0, 18)  # the caption event (0–0.5 s) shows during it
    segment = ad.timeline.segments[0]
    captions = ad.captions
    assert captions is not None
    changed = {
        "input": replace(ad, inputs=("b", "a")),
        "clip_seconds": replace(
            ad, timeline=Timeline([replace(segment, duration=1.1), segment], 0.25)
        ),
        "hold": replace(ad, timeline=Timeline([replace(segment, hold_s=0.1), segment], 0.25)),
        "clip_frames": replace(ad, plan=FramePlan([25, 24], 6)),
        "size": replace(ad, fmt=replace(ad.fmt, width=182)),
        "fps": replace(ad, fmt=replace(ad.fmt, fps=25)),
        "preset": replace(ad, fmt=replace(ad.fmt, preset="medium")),
        "crf": replace(ad, fmt=replace(ad.fmt, crf=20)),
        "threads": replace(ad, encode=Encode(crf=23, threads=1)),
        "caption_text": replace(
            ad,
            captions=replace(
                captions,
                events=((0.0, 0.5, "Dialogue: 0,0:00:00.00,0:00:00.50,Default,,0,0,0,,B"),),
            ),
        ),
        "caption_style": replace(
            ad, captions=replace(captions, style="[Script Info]\nPlayResY: 640")
        ),
    }[change]
    assert changed.key(body) != ad.key(body)


def test_a_piece_key_ignores_what_does_not_show_in_it(tmp_path: Path) -> None:
    ad = _layout(tmp_path)
    fade = Piece((Cut(0, 18, 24), Cut(1, 0, 6)), 18, 6)  # 0.75–1.0 s: no caption then
    later = Piece((Cut(1, 6, 24),), 24, 18)
    captions = ad.captions
    assert captions is not None
    other_text = replace(
        ad,
        captions=replace(
            captions, events=((0.0, 0.5, "Dialogue: 0,0:00:00.00,0:00:00.50,Default,,0,0,0,,B"),)
        ),
    )
    assert other_text.key(later) == ad.key(later)
    assert other_text.key(fade) == ad.key(fade)
    # ...but the fade's key follows the transition, the body's does not.
    other_fade = replace(ad, fmt=replace(ad.fmt, transition="wipeleft"))
    assert other_fade.key(fade) != ad.key(fade)
    assert other_fade.key(later) == ad.key(later)


def test_the_cache_evicts_least_recently_used_but_not_pieces_in_use(tmp_path: Path) -> None:
    cache = SegmentCache(tmp_path / "cache", max_bytes=2500)
    now = time.time()
    for index, age_s in enumerate((3600, 1800, 1200, 0)):  # old … just used
        written = cache.temp_path(f"{index:064x}")
        written.write_bytes(b"x" * 1000)
        cache.put(f"{index:064x}", written)
        os.utime(cache.path(f"{index:064x}"), (now - age_s, now - age_s))
    cache.trim()

    kept = [cache.lookup(f"{index:064x}") is not None for index in range(4)]
    assert kept == [False, False, True, True]  # 2000 bytes left, the oldest two gone
    assert cache.encoded == 4

    # Over the bound, a piece looked up within the last ten minutes still stays.
    crowded = SegmentCache(tmp_path / "cache", max_bytes=0)
    crowded.trim()
    assert crowded.lookup(f"{3:064x}") is not None


async def test_prepare_over_grpc_names_bad_fields_and_encodes_what_it_can(
    stub: composer_pb2_grpc.ComposerServiceAsyncStub, store: ArtifactStore, media: Media
) -> None:
    clip = await put(store, media.clip_1s)
    corrupt = (await store.put_file(media.corrupt, "video/mp4")).id
    given = composer_pb2.ClipInput(source=clip, target_duration_seconds=1.0)
    later = composer_pb2.ClipInput(target_duration_seconds=1.0)
    cases = [
        ([given, composer_pb2.ClipInput()], "clips[1].target_duration_seconds"),
        ([later, later], "clips"),
        ([composer_pb2.ClipInput(source="f" * 64), later], "clips[0].source"),  # not stored
        ([composer_pb2.ClipInput(source=corrupt), later], "clips[0]"),  # found unreadable
    ]
    for clips_, field in cases:
        request = composer_pb2.ComposeRequest(clips=clips_, height=320, fps=FPS)
        fields = await field_violations(stub.PrepareSegments(request, timeout=60))
        assert field in fields, (field, fields)

    request = composer_pb2.ComposeRequest(clips=[given, later], height=320, fps=FPS)
    prepared = await stub.PrepareSegments(request, timeout=60)
    assert (prepared.encoded, prepared.waiting) == (1, 2)  # its body; the fade and the rest wait


async def test_a_relative_cache_folder_joins(
    clips: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DATA_DIR=data (scripts/ad.sh): the concat demuxer reads a listing's relative paths
    from the listing's folder, not the process's, and found no piece."""
    monkeypatch.chdir(tmp_path)
    ads = Ads(ArtifactStore(Path("store")), SegmentCache(Path("data/segments")), Path("work"))
    output = await ads.render(await compose_request(ads, clips))
    assert ads.cache.encoded == 5
    assert video_frames(output) == round((3 * CLIP_S - 2 * TRANSITION_S) * FPS)
