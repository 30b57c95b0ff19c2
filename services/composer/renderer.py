"""One composition from inputs to stored MP4: fetch → lay out → one FFmpeg pass (→ fit size) → store."""

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
from services.composer.filter_graph import Encode, build_command
from services.composer.inputs import Fetcher, fetch_inputs
from services.composer.output_format import OutputFormat, output_format
from services.composer.progress import ProgressParser, phase_percent
from services.composer.render_errors import RenderFailed
from services.composer.size_budget import Bitrates, fit_bitrates, refit
from services.composer.timeline import ProbedInput, Timeline, build_timeline

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


@dataclass(frozen=True)
class _Job:
    timeline: Timeline
    music: ProbedInput | None
    fmt: OutputFormat
    output: Path
    workdir: Path


async def render(
    request: composer_pb2.ComposeRequest, ctx: RenderContext, reporter: Reporter, workdir: Path
) -> RenderResult:
    """Renders a validated request; RenderFailed says why not. Partial files never survive."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    output = ctx.store.temp_path(".mp4")
    try:
        # Fetch and probe every input; the first one at fault fails the render, named.
        await reporter.phase(composer_pb2.COMPOSITION_STATE_DOWNLOADING, 0.0, "fetching inputs")
        clips, music = await fetch_inputs(
            ctx.fetcher, [c.source for c in request.clips], request.music, workdir
        )
        # Lay out the timeline now that every clip's real length is known.
        timeline = build_timeline(
            clips,
            [c.target_duration_seconds for c in request.clips],
            output_format(request, ctx.environment).transition_s,
            request.hold_last_frame,
        )
        job = _Job(timeline, music, output_format(request, ctx.environment), output, workdir)
        # Encode once; a size bound may add one two-pass attempt (OPTIMIZING).
        await _encode(job, request.max_size_bytes, ctx, reporter)
        # Check what was written and move it into the store.
        await reporter.phase(
            composer_pb2.COMPOSITION_STATE_OPTIMIZING, _ENCODE_END, "checking the output"
        )
        info = await _probe_output(output)
        artifact = await ctx.store.put_file(output, _MIME, info)
        return RenderResult(artifact, info)
    finally:
        output.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


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
    has_audio = job.music is not None or job.timeline.has_clip_audio
    bitrates = fit_bitrates(max_bytes, job.timeline.total_s, has_audio)
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

    argv = build_command(job.timeline, job.music, job.fmt, job.output, encode)
    try:
        await run_ffmpeg(argv, timeout_s=ctx.timeout_s, on_stdout_line=on_progress_line)
    except FfmpegFailed as error:
        raise RenderFailed(error.message) from None
