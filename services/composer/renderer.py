"""One composition from inputs to stored MP4: fetch → lay out → measure the sound → one FFmpeg
pass (→ fit size) → store, with the subtitle files of the spoken words."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeAlias

from reelforge.runtime.artifacts import ArtifactMeta, ArtifactStore
from reelforge.runtime.ffmpeg import FfmpegFailed, run_ffmpeg
from reelforge.runtime.media import MediaError, MediaInfo, probe
from reelforge.runtime.settings import Environment
from reelforge.v1 import composer_pb2
from services.composer.caption_plan import captions_document, spoken_words
from services.composer.captions import Word
from services.composer.filter_graph import Encode, build_command
from services.composer.inputs import Fetcher, Inputs, fetch_inputs
from services.composer.mix import Sound, VoiceTrack, measured
from services.composer.output_format import OutputFormat, output_format
from services.composer.progress import ProgressParser, phase_percent
from services.composer.render_errors import RenderFailed
from services.composer.sidecars import SRT_MIME, VTT_MIME, srt, webvtt
from services.composer.size_budget import Bitrates, fit_bitrates, refit
from services.composer.timeline import Timeline, build_timeline

State: TypeAlias = composer_pb2.CompositionState.ValueType
_MIME = "video/mp4"
# Share of the whole job each phase reports (percent).
_FETCH_END = 10.0
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
        )
        words = spoken_words(request.voice, timeline.total_s)
        captions = await _write_captions(request, timeline, fmt, words, workdir)
        sound = _sound(request, inputs, timeline)
        if sound.has_audio:
            # Measure the sound (audio only, no picture decoded) so the video pass masters it.
            composing = composer_pb2.COMPOSITION_STATE_COMPOSING
            await reporter.phase(composing, _FETCH_END, "measuring loudness")
            sound = await measured(sound, fmt.loudness_lufs, workdir, timeout_s=ctx.timeout_s)
        job = _Job(timeline, sound, fmt, output, workdir, captions)
        # Encode once; a size bound may add one two-pass attempt (OPTIMIZING).
        await _encode(job, request.max_size_bytes, ctx, reporter)
        # Check what was written and move it into the store, with the subtitle files.
        await reporter.phase(
            composer_pb2.COMPOSITION_STATE_OPTIMIZING, _ENCODE_END, "checking the output"
        )
        return await _store(output, words, ctx.store)
    finally:
        output.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


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
) -> Path | None:
    """The ASS file of the captions to burn in, in the render's folder; None for none."""
    document = captions_document(request, timeline, (fmt.width, fmt.height), words)
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


async def _encode(job: _Job, max_bytes: int, ctx: RenderContext, reporter: Reporter) -> None:
    composing = composer_pb2.COMPOSITION_STATE_COMPOSING
    await reporter.phase(composing, _FETCH_END, f"encoding {job.timeline.total_s:.1f} s")
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

    argv = build_command(job.timeline, job.sound, job.fmt, job.output, encode, job.captions)
    try:
        await run_ffmpeg(argv, timeout_s=ctx.timeout_s, on_stdout_line=on_progress_line)
    except FfmpegFailed as error:
        raise RenderFailed(error.message) from None
