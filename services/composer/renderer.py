"""One composition from inputs to stored MP4: fetch → lay out → measure the sound → the picture
by cached pieces joined by stream copy (``segments.py``) or in one FFmpeg pass (→ fit size) →
store, with the subtitle files of the spoken words."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypeAlias

from reelforge.runtime.artifacts import ArtifactMeta, ArtifactStore
from reelforge.runtime.media import MediaError, MediaInfo, probe
from reelforge.runtime.settings import Environment
from reelforge.v1 import composer_pb2
from services.composer.caption_plan import captions_document, spoken_words
from services.composer.captions import Word
from services.composer.filter_graph import Encode, build_command, frame_plan
from services.composer.inputs import Fetcher, Inputs, fetch_clips, fetch_inputs
from services.composer.mix import Sound, VoiceTrack, measured
from services.composer.output_format import OutputFormat, output_format
from services.composer.overlays import Overlays, prepare_overlays
from services.composer.progress import ProgressParser, phase_percent
from services.composer.render_errors import RenderFailed
from services.composer.segment_cache import SegmentCache
from services.composer.segments import (
    SegmentRun,
    encode_missing,
    encode_sound,
    join,
    layout,
    one_pass_reason,
    prepare_pieces,
    run_or_fail,
)
from services.composer.sidecars import SRT_MIME, VTT_MIME, srt, webvtt
from services.composer.size_budget import Bitrates, fit_bitrates, refit
from services.composer.timeline import ProbedInput, Timeline, build_timeline, clip_focus

State: TypeAlias = composer_pb2.CompositionState.ValueType
_LOGGER = logging.getLogger(__name__)
_MIME = "video/mp4"
# Share of the whole job each phase reports (percent).
_FETCH_END = 10.0
_JOIN_START = 85.0  # by pieces: encoding the new ones, then joining all
_ENCODE_END = 90.0


class Reporter(Protocol):
    """Receives the render's phases (published at once) and progress (throttled by the receiver)."""

    async def phase(self, state: State, percent: float, message: str) -> None: ...

    def progress(self, percent: float, message: str) -> None: ...


@dataclass(frozen=True)
class RenderContext:
    fetcher: Fetcher
    store: ArtifactStore
    environment: Environment
    timeout_s: float
    threads: int = 0
    segments: SegmentCache | None = None  # None: every render takes one pass
    segment_jobs: int = 1  # pieces encoded at once


@dataclass(frozen=True)
class RenderResult:
    artifact: ArtifactMeta
    info: MediaInfo
    srt: ArtifactMeta | None = None  # subtitle files of the spoken words, when there are any
    vtt: ArtifactMeta | None = None


@dataclass(frozen=True)
class _Job:
    timeline: Timeline
    sound: Sound
    fmt: OutputFormat
    output: Path
    workdir: Path
    captions: Path | None  # the ASS file to burn in
    overlays: Overlays  # watermark, end card, the captions' brand font


async def render(
    request: composer_pb2.ComposeRequest, ctx: RenderContext, reporter: Reporter, workdir: Path
) -> RenderResult:
    """Renders a validated request; RenderFailed says why not. Partial files never survive."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    output = ctx.store.temp_path(".mp4")
    try:
        # Fetch and probe every input; the first one at fault fails the render, named.
        await reporter.phase(composer_pb2.COMPOSITION_STATE_DOWNLOADING, 0.0, "fetching inputs")
        inputs = await fetch_inputs(
            ctx.fetcher,
            [c.source for c in request.clips],
            request.music,
            [v.source for v in request.voice],
            workdir,
        )
        # Lay out the timeline now that every clip's real length is known.
        fmt = output_format(request, ctx.environment)
        timeline = build_timeline(
            inputs.clips,
            [c.target_duration_seconds for c in request.clips],
            fmt.transition_s,
            request.hold_last_frame,
            [clip_focus(c) for c in request.clips],
        )
        size = (fmt.width, fmt.height)
        overlays = await prepare_overlays(request, ctx.fetcher, timeline.total_s, size, workdir)
        words = spoken_words(request.voice, timeline.total_s)
        captions = await _write_captions(request, timeline, fmt, words, workdir, overlays)
        sound = _sound(request, inputs, timeline)
        job = _Job(timeline, sound, fmt, output, workdir, captions, overlays)
        # Encode once; a size bound may add one two-pass attempt (OPTIMIZING).
        await _encode(job, request, ctx, reporter)
        # Check what was written and move it into the store, with the subtitle files.
        await reporter.phase(
            composer_pb2.COMPOSITION_STATE_OPTIMIZING, _ENCODE_END, "checking the output"
        )
        return await _store(output, words, ctx.store)
    finally:
        output.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


async def prepare(
    request: composer_pb2.ComposeRequest, ctx: RenderContext, workdir: Path
) -> composer_pb2.PreparedSegments:
    """Encodes into the segment cache the pieces the request's given clips can make, laid out
    as the Compose of the whole request will lay them out (a clip not given yet, its source
    empty, holds its target length); RenderFailed names an input at fault. The sound is not
    made: the Compose mixes it once every voice and the music exist."""
    if ctx.segments is None:
        return composer_pb2.PreparedSegments(one_pass_reason="no segment cache")
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    try:
        given = {i: c.source for i, c in enumerate(request.clips) if c.source}
        fetched = await fetch_clips(ctx.fetcher, given, workdir)
        clips = [fetched.get(i) or _absent(i, c) for i, c in enumerate(request.clips)]
        fmt = output_format(request, ctx.environment)
        timeline = build_timeline(
            clips,
            [c.target_duration_seconds for c in request.clips],
            fmt.transition_s,
            request.hold_last_frame,
            [clip_focus(c) for c in request.clips],
        )
        if reason := one_pass_reason(request, frame_plan(timeline, fmt.fps)):
            return composer_pb2.PreparedSegments(one_pass_reason=reason)
        size = (fmt.width, fmt.height)
        overlays = await prepare_overlays(request, ctx.fetcher, timeline.total_s, size, workdir)
        words = spoken_words(request.voice, timeline.total_s)
        captions = await _write_captions(request, timeline, fmt, words, workdir, overlays)
        encode = Encode(crf=fmt.crf, audio_kbps=fmt.audio_kbps, threads=ctx.threads)
        absent = [i for i in range(len(clips)) if i not in fetched]
        ad = await layout(timeline, fmt, encode, captions, overlays, Sound(timeline), absent)
        run = SegmentRun(ctx.segments, ctx.timeout_s, ctx.segment_jobs)
        done = await prepare_pieces(ad, run, lambda _done, _total: None)
        _LOGGER.info(
            "prepared %d pieces (%d cached, %d wait for a clip)",
            done.encoded,
            done.cached,
            done.waiting,
        )
        return composer_pb2.PreparedSegments(
            encoded=done.encoded, cached=done.cached, waiting=done.waiting
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _absent(index: int, clip: composer_pb2.ClipInput) -> ProbedInput:
    """A clip not made yet, as the timeline sees it: a picture of its target length."""
    info = MediaInfo(
        size_bytes=0,
        format_name="",
        video_codec="absent",
        duration_seconds=clip.target_duration_seconds,
    )
    return ProbedInput(f"clips[{index}]", Path(), info)


async def _store(output: Path, words: list[Word], store: ArtifactStore) -> RenderResult:
    """The probed MP4 and, when the voice has words, its SRT and WebVTT files, stored."""
    info = await _probe_output(output)
    artifact = await store.put_file(output, _MIME, info)
    if not words:
        return RenderResult(artifact, info)
    srt_file = await store.put_bytes(srt(words).encode(), SRT_MIME)
    vtt_file = await store.put_bytes(webvtt(words).encode(), VTT_MIME)
    return RenderResult(artifact, info, srt_file, vtt_file)


def _sound(request: composer_pb2.ComposeRequest, inputs: Inputs, timeline: Timeline) -> Sound:
    """The sound's inputs; a voice placed at or after the ad's end fails the render, named."""
    voices = []
    for index, (voice, probed) in enumerate(zip(request.voice, inputs.voices, strict=True)):
        if voice.start_seconds >= timeline.total_s:
            raise RenderFailed.at(
                f"voice[{index}].start_seconds",
                f"{voice.start_seconds:g} s is not before the ad's end ({timeline.total_s:.2f} s)",
            )
        voices.append(VoiceTrack(probed, voice.start_seconds))
    return Sound(timeline, inputs.music, tuple(voices))


async def _write_captions(
    request: composer_pb2.ComposeRequest,
    timeline: Timeline,
    fmt: OutputFormat,
    words: list[Word],
    workdir: Path,
    overlays: Overlays,
) -> Path | None:
    """The ASS file of the captions to burn in, in the render's folder; None for none."""
    size = (fmt.width, fmt.height)
    document = captions_document(request, timeline, size, words, overlays.caption_font)
    if document is None:
        return None
    path = workdir / "captions.ass"
    await asyncio.to_thread(path.write_text, document, encoding="utf-8")
    return path


async def _probe_output(output: Path) -> MediaInfo:
    try:
        return await probe(output)
    except MediaError as error:
        raise RenderFailed(f"FFmpeg wrote an unreadable file: {error}") from None


async def _encode(
    job: _Job, request: composer_pb2.ComposeRequest, ctx: RenderContext, reporter: Reporter
) -> None:
    composing = composer_pb2.COMPOSITION_STATE_COMPOSING
    await reporter.phase(composing, _FETCH_END, f"encoding {job.timeline.total_s:.1f} s")
    cache, plan = ctx.segments, frame_plan(job.timeline, job.fmt.fps)
    reason = one_pass_reason(request, plan) if cache else "no segment cache"
    if cache is not None and reason is None:
        await _by_pieces(job, cache, ctx, reporter)
        return
    _LOGGER.info("rendering in one pass: %s", reason)
    job = await _measured(job, ctx, reporter)
    max_bytes = request.max_size_bytes
    if max_bytes <= 0:
        encode = Encode(crf=job.fmt.crf, audio_kbps=job.fmt.audio_kbps, threads=ctx.threads)
        await _pass(job, encode, ctx, reporter, (_FETCH_END, _ENCODE_END), "encoding")
        return
    # With a bound, the first pass already aims at it, leaving room on the bar for a second try.
    bitrates = fit_bitrates(max_bytes, job.timeline.total_s, job.sound.has_audio)
    middle = (_FETCH_END + _ENCODE_END) / 2
    await _pass(job, _abr(bitrates, ctx, 0, job), ctx, reporter, (_FETCH_END, middle), "encoding")
    actual = job.output.stat().st_size
    if actual <= max_bytes:
        return
    await _fit_two_pass(job, refit(bitrates, max_bytes, actual), ctx, reporter, middle)
    if (actual := job.output.stat().st_size) > max_bytes:
        raise RenderFailed.at("max_size_bytes", f"could not fit {max_bytes} bytes (got {actual})")


async def _measured(job: _Job, ctx: RenderContext, reporter: Reporter) -> _Job:
    """The job with its sound measured (audio only, no picture decoded), so it is mastered."""
    if not job.sound.has_audio:
        return job
    composing = composer_pb2.COMPOSITION_STATE_COMPOSING
    await reporter.phase(composing, _FETCH_END, "measuring loudness")
    sound = await measured(job.sound, job.fmt.loudness_lufs, job.workdir, timeout_s=ctx.timeout_s)
    return replace(job, sound=sound)


async def _by_pieces(
    job: _Job, cache: SegmentCache, ctx: RenderContext, reporter: Reporter
) -> None:
    """The picture from cached pieces (only missing ones encoded), joined with the sound."""
    encode = Encode(crf=job.fmt.crf, audio_kbps=job.fmt.audio_kbps, threads=ctx.threads)
    ad = await layout(job.timeline, job.fmt, encode, job.captions, job.overlays, job.sound)

    def on_frames(done: int, total: int) -> None:
        # In seconds, as one pass says it: only the pieces not cached count.
        percent = phase_percent(done, total, _FETCH_END, _JOIN_START)
        fps = job.fmt.fps
        reporter.progress(percent, f"encoding {done / fps:.1f} s of {total / fps:.1f} s new")

    run = SegmentRun(cache, ctx.timeout_s, ctx.segment_jobs)
    # The mastered sound is cached as well: a new clip without sound of its own leaves it as
    # it was, so neither the measuring passes nor the AAC encode run again.
    sound = None
    if job.sound.has_audio:
        sound = run.cache.lookup(ad.sound_key(job.sound))
        if sound is None:
            sound = await encode_sound(ad, (await _measured(job, ctx, reporter)).sound, run)
    found = await encode_missing(ad, run, on_frames)
    _LOGGER.info("%d of %d pieces encoded, the rest cached", found.encoded, len(found.files))
    composing = composer_pb2.COMPOSITION_STATE_COMPOSING
    await reporter.phase(composing, _JOIN_START, f"joining {len(found.files)} pieces")
    await join(found, sound, job.output, job.workdir, ctx.timeout_s)


async def _fit_two_pass(
    job: _Job, bitrates: Bitrates, ctx: RenderContext, reporter: Reporter, start: float
) -> None:
    """x264 two-pass at the refitted bitrate: slower, but it lands on the size it is given."""
    await reporter.phase(
        composer_pb2.COMPOSITION_STATE_OPTIMIZING, start, "re-encoding to fit max_size_bytes"
    )
    middle = (start + _ENCODE_END) / 2
    await _pass(job, _abr(bitrates, ctx, 1, job), ctx, reporter, (start, middle), "analysing")
    await _pass(job, _abr(bitrates, ctx, 2, job), ctx, reporter, (middle, _ENCODE_END), "fitting")


def _abr(bitrates: Bitrates, ctx: RenderContext, pass_number: int, job: _Job) -> Encode:
    return Encode(
        video_kbps=bitrates.video_kbps,
        audio_kbps=bitrates.audio_kbps or job.fmt.audio_kbps,
        pass_number=pass_number,
        passlog=job.workdir / "x264" if pass_number else None,
        threads=ctx.threads,
    )


async def _pass(
    job: _Job,
    encode: Encode,
    ctx: RenderContext,
    reporter: Reporter,
    span: tuple[float, float],
    verb: str,
) -> None:
    total = job.timeline.total_s
    parser = ProgressParser(job.fmt.fps)

    def on_progress_line(line: str) -> None:
        if (done_s := parser.feed(line)) is not None:
            percent = phase_percent(done_s, total, *span)
            reporter.progress(percent, f"{verb} {min(done_s, total):.1f} s of {total:.1f} s")

    argv = build_command(
        job.timeline, job.sound, job.fmt, job.output, encode, job.captions, job.overlays
    )
    await run_or_fail(argv, ctx.timeout_s, on_progress_line)
