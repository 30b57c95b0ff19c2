"""The segment render path (issue 17): the ad's picture as cached pieces joined by stream copy.

The picture is cut into **pieces** on whole frames: each clip's **body** (its frames outside any
crossfade) and each **fade** (one clip's tail crossfaded with the next one's head). Every piece
is encoded on its own in the final format — frame size, fps, yuv420p, the tier's x264 preset
and CRF, starting on an IDR frame (x264's GOPs are closed, so no frame refers across a join) —
with the captions that show during it burned in, and cached (``segment_cache.py``) under a
digest of everything that shapes its pixels: the inputs' bytes, the frames taken from them, the
format and encoder settings, the transition, the caption events on screen during the piece and
its place in the ad (captions are timed in ad time), the FFmpeg build and _VERSION. Each clip
is decoded once: one FFmpeg run writes its body and, when the next fade needs it, its tail
(the fitted frames under the crossfade, lossless, cached too), from which the fade starts. The
sound is mixed and mastered in full, as in one pass (``mix.py``), encoded once and cached under
the key of what it is made of. The ad is then the pieces (concat demuxer, each piece's length
given in frames) and the sound joined by stream copy.

Pieces need not wait for the Compose: ``prepare_pieces`` (the PrepareSegments RPC,
``preparer.py``) encodes what the clips given so far can make — with the clips not made yet
laid out at their target lengths, so every key is the one the Compose will compute.

A body of a clip already encoded as the pieces are (``ready_clips.py``: the offline
animatic's clips) with nothing drawn over it is the clip's own packets, copied, not encoded.

So a compose encodes only the pieces it has not seen: after one scene changed (a regenerated
clip, an edited caption) that is the scene's body and its two fades. Each piece goes through
the very filters of the one-pass graph (``filter_graph.py``), so both paths show the same
frames; only x264 sees them in different groups.

Overlays (``overlays.py``) are burned into the pieces they show in, by the same filters with
the piece's offset in the ad: the watermark into every piece, the end card into the pieces it
overlaps (the last body, and the fade before it when the card is longer than that body), the
brand's caption font wherever captions show. Their files' bytes and placement are in the key.

Which path a request takes (``one_pass_reason``): one pass when it has ``max_size_bytes`` (the
bitrate budget is spread over the whole ad, and a miss re-encodes it in two passes) or a clip
too short to have a body besides its crossfades (one pass then chains ``xfade``); otherwise
pieces.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import ffmpeg

from reelforge.runtime.ffmpeg import FfmpegFailed, OnLine, run_ffmpeg
from reelforge.runtime.tasks import cancel_and_wait
from reelforge.v1 import composer_pb2
from services.composer.filter_graph import (
    Encode,
    FramePlan,
    _crossfade,
    _cut,
    _encode_options,
    _video,
    frame_plan,
)
from services.composer.mix import Sound, mastered
from services.composer.output_format import OutputFormat
from services.composer.overlays import Card, Overlays, burn_captions, burn_overlays
from services.composer.progress import ProgressParser
from services.composer.ready_clips import ReadyClip, body_argv, body_part, ready_clip
from services.composer.render_errors import RenderFailed
from services.composer.segment_cache import SegmentCache, digest, file_digest
from services.composer.streams import SAMPLE_RATE, Stream
from services.composer.timeline import Timeline

# Bumped whenever the piece graph changes its pixels, so older cache entries stop matching
# (2: clips of another shape are cropped around their focus point, no longer letter-boxed).
_VERSION = 2
# Caption events this close to a piece (seconds) count as on screen in it: ASS times are
# centiseconds, frames are not.
_CAPTION_MARGIN_S = 0.02
_GLOBAL = ("-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
_LOSSLESS = {"vcodec": "libx264", "preset": "ultrafast", "qp": 0, "pix_fmt": "yuv420p"}

# (piece frames encoded so far, frames to encode in all)
OnFrames = Callable[[int, int], None]


@dataclass(frozen=True)
class Cut:
    """Frames [start, end) of the fitted clip ``clip`` (an index into the timeline)."""

    clip: int
    start: int
    end: int


@dataclass(frozen=True)
class Piece:
    """One cut (a body) or two (a fade: tail, head), ``frames`` long from frame ``at`` of the ad."""

    cuts: tuple[Cut, ...]
    at: int
    frames: int


def pieces(plan: FramePlan) -> list[Piece] | None:
    """Bodies and fades in play order; None when some clip has no body of its own."""
    overlap, last = plan.overlap, len(plan.frames) - 1
    result: list[Piece] = []
    at = 0  # where the current clip starts in the ad
    for index, frames in enumerate(plan.frames):
        start = overlap if index else 0
        end = frames - overlap if index < last else frames
        if end <= start:
            return None
        if index and overlap:
            previous = plan.frames[index - 1]
            tail, head = Cut(index - 1, previous - overlap, previous), Cut(index, 0, overlap)
            result.append(Piece((tail, head), at, overlap))
        result.append(Piece((Cut(index, start, end),), at + start, end - start))
        at += frames - overlap
    return result


def one_pass_reason(request: composer_pb2.ComposeRequest, plan: FramePlan) -> str | None:
    """Why this request is rendered in one pass; None when pieces can render it."""
    if request.max_size_bytes > 0:
        return "max_size_bytes spreads one bitrate budget over the whole ad"
    if pieces(plan) is None:
        return "a clip is too short for a body besides its crossfades"
    return None


@dataclass(frozen=True)
class Captions:
    """The burned-in ASS file: its style part and its events with their spans (seconds)."""

    path: Path
    style: str
    events: tuple[tuple[float, float, str], ...]

    def during(self, start_s: float, end_s: float) -> list[str]:
        return [
            line
            for shown_s, hidden_s, line in self.events
            if shown_s < end_s + _CAPTION_MARGIN_S and hidden_s > start_s - _CAPTION_MARGIN_S
        ]


def read_captions(path: Path) -> Captions:
    """Splits an ASS document (``captions.py`` writes it) into style and timed events."""
    style, events = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("Dialogue:"):
            fields = line.split(",", 3)
            events.append((_ass_seconds(fields[1]), _ass_seconds(fields[2]), line))
        else:
            style.append(line)
    return Captions(path, "\n".join(style), tuple(events))


def _ass_seconds(text: str) -> float:
    hours, minutes, seconds = text.strip().split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@functools.cache
def ffmpeg_build() -> str:
    """FFmpeg's version line: another build may encode other bits (and headers) from the same frames."""
    answer = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True)
    return answer.stdout.splitlines()[0]


@dataclass(frozen=True)
class Layout:
    """What every piece of one ad shares: the timeline in frames, the format, the encoder, what
    is drawn over the picture, and the digests of every file that shapes pixels."""

    timeline: Timeline
    plan: FramePlan
    fmt: OutputFormat
    encode: Encode
    captions: Captions | None
    inputs: tuple[str, ...]  # each clip's file digest ("" for a clip not given yet: prepare)
    overlays: Overlays
    files: dict[Path, str]  # every file's digest
    ready: tuple[ReadyClip | None, ...]  # each clip's GOPs when it is ready (ready_clips.py)

    def key(self, piece: Piece) -> str:
        """The cache key: a digest of everything that shapes the piece's pixels and bits."""
        fmt, segments = self.fmt, self.timeline.segments
        cuts = [
            {
                "input": self.inputs[c.clip],
                "seconds": segments[c.clip].duration,
                "hold": segments[c.clip].hold_s,
                "focus": segments[c.clip].focus,
                "clip_frames": self.plan.frames[c.clip],
                "frames": [c.start, c.end],
            }
            for c in piece.cuts
        ]
        caption_lines = self._caption_lines(piece)
        font = self.overlays.caption_font
        mark, card = self.overlays.watermark, self._card(piece)
        return digest(
            {
                "version": _VERSION,
                "ffmpeg": ffmpeg_build(),
                "format": [fmt.width, fmt.height, fmt.fps, fmt.preset, fmt.crf, fmt.fit],
                "threads": self.encode.threads,
                "cuts": cuts,
                "fade": [fmt.transition, self.plan.overlap] if len(piece.cuts) > 1 else None,
                "captions": caption_lines and [self.captions and self.captions.style, piece.at],
                "caption_lines": caption_lines,
                "font": caption_lines and font and self.files[font.path],
                "watermark": mark and [self.files[mark.image], mark.x, mark.y],
                "card": card and [self.files[card.image], card.start_s, card.end_s, card.fade_s],
                "at": piece.at if card else None,
                "copied": self.copy_of(piece) is not None,
            }
        )

    def copy_of(self, piece: Piece) -> Cut | None:
        """The frames ``piece`` copies from its ready clip; None when it is encoded: a fade,
        something drawn over it, or frames that cannot be copied (``copyable``)."""
        cut = piece.cuts[0]
        if len(piece.cuts) > 1 or not self.copyable(cut):
            return None
        drawn = self._caption_lines(piece) or self.overlays.watermark or self._card(piece)
        return None if drawn else cut

    def copyable(self, cut: Cut) -> bool:
        """Whether the fitted frames of ``cut`` are whole GOPs of a ready clip that is not
        held (its fitted frames are then its own)."""
        ready = self.ready[cut.clip]
        held = self.timeline.segments[cut.clip].hold_s
        return ready is not None and not held and ready.spans(cut.start, cut.end)

    def tail(self, clip: int) -> Cut:
        """The clip's fitted frames under the crossfade into the next clip."""
        frames = self.plan.frames[clip]
        return Cut(clip, frames - self.plan.overlap, frames)

    def _caption_lines(self, piece: Piece) -> list[str]:
        if self.captions is None:
            return []
        return self.captions.during(*self._span(piece))

    def _span(self, piece: Piece) -> tuple[float, float]:
        return piece.at / self.fmt.fps, (piece.at + piece.frames) / self.fmt.fps

    def _card(self, piece: Piece) -> Card | None:
        """The end card when it shows during ``piece``."""
        card = self.overlays.end_card
        start_s, end_s = self._span(piece)
        if card is None or card.start_s >= end_s or card.end_s <= start_s:
            return None
        return card

    def sound_key(self, sound: Sound) -> str:
        """The key of the mastered sound: what it is mixed from, placed where, at what level
        and bitrate (the measured gains follow from these)."""
        clips = [
            [self.inputs[i] if s.input.info.has_audio else None, s.duration, s.hold_s]
            for i, s in enumerate(self.timeline.segments)
        ]
        return digest(
            {
                "version": _VERSION,
                "ffmpeg": ffmpeg_build(),
                "sound_of": clips,
                "transition": self.timeline.transition_s,
                "music": sound.music and self.files[sound.music.path],
                "voices": [[self.files[v.input.path], v.start_s] for v in sound.voices],
                "master": [self.fmt.loudness_lufs, self.fmt.audio_kbps],
            }
        )

    def tail_key(self, clip: int) -> str:
        """The key of a clip's tail, kept lossless for the fade that follows it: the fitted
        frames only (no overlays, no captions), so any encoder settings may use it."""
        fmt, segment, frames = self.fmt, self.timeline.segments[clip], self.plan.frames[clip]
        return digest(
            {
                "version": _VERSION,
                "ffmpeg": ffmpeg_build(),
                "tail_of": [self.inputs[clip], segment.duration, segment.hold_s, frames],
                "focus": segment.focus,
                "frames": [frames - self.plan.overlap, frames],
                "format": [fmt.width, fmt.height, fmt.fps, fmt.fit],
            }
        )

    def clip_command(
        self, clip: int, body: tuple[Piece, Path] | None, tail: Path | None
    ) -> list[str]:
        """The argv that decodes a clip once and writes its body piece, its lossless tail, or
        both (the tail is what the next fade starts from)."""
        fitted = _video(self.timeline.segments[clip], self.plan.frames[clip], self.fmt, 0)
        branches = fitted.split() if body and tail else [fitted, fitted]
        outputs = []
        if body is not None:
            piece, path = body
            cut = piece.cuts[0]
            outputs.append(self._output(_cut(branches[0], cut.start, cut.end), piece, path))
        if tail is not None:
            frames = self.plan.frames[clip]
            video = _cut(branches[-1], frames - self.plan.overlap, frames)
            # x264 at QP 0 is lossless for 8-bit 4:2:0: the fade sees the very frames.
            outputs.append(ffmpeg.output(video, str(tail), an=None, f="mp4", **_LOSSLESS))
        return _argv(ffmpeg.merge_outputs(*outputs))

    def fade_command(self, piece: Piece, tail: Path, output: Path) -> list[str]:
        """The argv that crossfades a clip's cached tail into the next clip's head."""
        fmt, head, overlap = self.fmt, piece.cuts[1], self.plan.overlap
        ending = ffmpeg.input(str(tail)).video.filter("settb", f"1/{fmt.fps}")
        ending = ending.filter("setpts", f"N/({fmt.fps}*TB)").filter("setsar", 1)
        fitted = _video(self.timeline.segments[head.clip], self.plan.frames[head.clip], fmt, 1)
        starting = _cut(fitted, head.start, head.end)
        video = _crossfade(ending, starting, fmt.transition, overlap, fmt.fps)
        return _argv(self._output(video, piece, output))

    def _output(self, video: Stream, piece: Piece, output: Path) -> Stream:
        """The piece's picture with what is drawn over it, encoded into ``output``."""
        fmt = self.fmt
        # In the order of the one pass: overlays, then captions.
        drawn = replace(self.overlays, end_card=self._card(piece))
        video = burn_overlays(video, drawn, fmt.fps, piece.frames, piece.at / fmt.fps)
        if self.captions is not None and self._caption_lines(piece):
            # libass times events by the frame's timestamp: the piece is placed where it plays.
            video = video.filter("setpts", f"PTS-STARTPTS+{piece.at}/({fmt.fps}*TB)")
            video = burn_captions(video, self.captions.path, drawn)
            video = video.filter("setpts", "PTS-STARTPTS")
        options = _encode_options(self.encode, fmt)
        return ffmpeg.output(video, str(output), an=None, f="mp4", **options)


def _argv(stream: Stream) -> list[str]:
    return list(stream.global_args(*_GLOBAL).overwrite_output().compile(cmd="ffmpeg"))


def concat_listing(files: Sequence[tuple[Path, int]], fps: int) -> str:
    """An ffconcat file of (path, frames) pairs. Each piece's duration is given: the demuxer
    otherwise takes the container's, rounded to milliseconds, and the timestamps drift. Paths
    are absolute: the demuxer reads a relative one from the listing's folder."""
    lines = ["ffconcat version 1.0"]
    for path, frames in files:
        quoted = str(path.absolute()).replace("'", "'\\''")
        lines += [f"file '{quoted}'", f"duration {frames / fps:.9f}"]
    return "\n".join(lines) + "\n"


def join_command(listing: Path, sound: Path | None, output: Path) -> list[str]:
    """The argv that joins the pieces and the encoded sound by stream copy (faststart)."""
    streams: list[Stream] = [ffmpeg.input(str(listing), f="concat", safe=0).video]
    if sound is not None:
        streams.append(ffmpeg.input(str(sound)).audio)
    return _argv(ffmpeg.output(*streams, str(output), c="copy", movflags="+faststart", f="mp4"))


def sound_command(sound: Sound, fmt: OutputFormat, output: Path) -> list[str]:
    """The argv that mixes, masters and encodes the whole ad's sound (``mix.py``) to AAC."""
    audio = mastered(sound, fmt.loudness_lufs)
    options = {"acodec": "aac", "b:a": f"{fmt.audio_kbps}k", "ar": SAMPLE_RATE}
    return _argv(ffmpeg.output(audio, str(output), vn=None, f="mp4", **options))


async def run_or_fail(argv: list[str], timeout_s: float, on_line: OnLine | None = None) -> None:
    """Runs FFmpeg; its failure becomes the render's (RenderFailed with FFmpeg's message)."""
    try:
        await run_ffmpeg(argv, timeout_s=timeout_s, on_stdout_line=on_line)
    except FfmpegFailed as error:
        raise RenderFailed(error.message) from None


@dataclass(frozen=True)
class Pieces:
    """The ad's pieces as cached files with their frames, in play order, and how many were new."""

    files: list[tuple[Path, int]]
    encoded: int
    fps: int


@dataclass(frozen=True)
class SegmentRun:
    """One compose by pieces: where pieces live, how long FFmpeg may take, how many at once."""

    cache: SegmentCache
    timeout_s: float
    jobs: int = 1


def _overlay_files(overlays: Overlays) -> list[Path]:
    font, mark, card = overlays.caption_font, overlays.watermark, overlays.end_card
    return [
        *([font.path] if font else []),
        *([mark.image] if mark else []),
        *([card.image] if card else []),
    ]


def _sound_files(sound: Sound) -> list[Path]:
    return [
        *([sound.music.path] if sound.music else []),
        *(voice.input.path for voice in sound.voices),
    ]


async def layout(
    timeline: Timeline,
    fmt: OutputFormat,
    encode: Encode,
    captions: Path | None,
    overlays: Overlays,
    sound: Sound,
    absent: Collection[int] = (),
) -> Layout:
    """The ad's pieces' shared facts; files are hashed off the event loop. ``absent`` clips are
    not given yet (``prepare``): their segments hold only their length, no file."""
    clips = [s.input.path for i, s in enumerate(timeline.segments) if i not in absent]
    drawn = [*_overlay_files(overlays), *_sound_files(sound)]
    digests = {path: await asyncio.to_thread(file_digest, path) for path in {*clips, *drawn}}
    read = await asyncio.to_thread(read_captions, captions) if captions is not None else None
    await asyncio.to_thread(ffmpeg_build)
    plan = frame_plan(timeline, fmt.fps)
    inputs = tuple(
        "" if i in absent else digests[s.input.path] for i, s in enumerate(timeline.segments)
    )
    ready = await asyncio.gather(
        *(
            _none() if i in absent else ready_clip(s.input, fmt, encode)
            for i, s in enumerate(timeline.segments)
        )
    )
    return Layout(timeline, plan, fmt, encode, read, inputs, overlays, digests, tuple(ready))


async def _none() -> None:
    return None


@dataclass(frozen=True)
class Prepared:
    """What ``prepare_pieces`` did: pieces encoded, found cached, and waiting for a clip."""

    encoded: int
    cached: int
    waiting: int


async def prepare_pieces(ad: Layout, run: SegmentRun, on_frames: OnFrames) -> Prepared:
    """Encodes what the clips given so far can make (their bodies, the fades between two of
    them, the tail of a clip whose next one is not given yet), so the compose to come finds
    them cached; the layout's absent clips (no digest) are left out."""
    planned = pieces(ad.plan)
    if planned is None:
        raise ValueError("this ad needs one pass (see one_pass_reason)")
    ready = [all(ad.inputs[cut.clip] for cut in piece.cuts) for piece in planned]
    keyed = [(ad.key(piece), piece) for piece, ok in zip(planned, ready, strict=True) if ok]
    missing = {key: piece for key, piece in keyed if run.cache.lookup(key) is None}
    last = len(ad.inputs) - 1
    tails = {
        clip
        for clip, digest_ in enumerate(ad.inputs)
        if digest_ and clip < last and not ad.inputs[clip + 1] and ad.plan.overlap
    }
    await _encode_pieces(ad, missing, run, on_frames, tails)
    return Prepared(_encoded(ad, missing), len(keyed) - len(missing), len(planned) - len(keyed))


async def encode_missing(ad: Layout, run: SegmentRun, on_frames: OnFrames) -> Pieces:
    """Encodes the pieces the cache lacks; returns every piece's file and frames, in play order."""
    planned = pieces(ad.plan)
    if planned is None:
        raise ValueError("this ad needs one pass (see one_pass_reason)")
    keyed = [(ad.key(piece), piece) for piece in planned]
    missing = {key: piece for key, piece in keyed if run.cache.lookup(key) is None}
    await _encode_pieces(ad, missing, run, on_frames)
    files = []
    for key, piece in keyed:
        # Looked up again: marks each as used right before the join reads it.
        path = run.cache.lookup(key)
        if path is None:
            raise RenderFailed(f"segment {key[:12]} left the cache before the join")
        files.append((path, piece.frames))
    return Pieces(files, _encoded(ad, missing), ad.fmt.fps)


def _encoded(ad: Layout, made: dict[str, Piece]) -> int:
    """How many of the pieces just made were encoded (the rest were copied)."""
    return sum(ad.copy_of(piece) is None for piece in made.values())


async def encode_sound(ad: Layout, sound: Sound, run: SegmentRun) -> Path:
    """The measured ``sound`` mastered and encoded into the cache; returns its file."""
    key = ad.sound_key(sound)
    await _produce(run, [key], functools.partial(_sound_argv, sound, ad.fmt), None, pieces=False)
    path = run.cache.lookup(key)
    if path is None:
        raise RenderFailed("the encoded sound left the cache before the join")
    return path


def _sound_argv(sound: Sound, fmt: OutputFormat, paths: list[Path]) -> list[str]:
    return sound_command(sound, fmt, paths[0])


async def join(
    found: Pieces, sound: Path | None, output: Path, workdir: Path, timeout_s: float
) -> None:
    """The pieces and the sound joined by stream copy into ``output``."""
    listing = workdir / "pieces.ffconcat"
    fps = found.fps
    await asyncio.to_thread(listing.write_text, concat_listing(found.files, fps))
    await run_or_fail(join_command(listing, sound, output), timeout_s)


async def _encode_pieces(
    ad: Layout,
    missing: dict[str, Piece],
    run: SegmentRun,
    on_frames: OnFrames,
    more_tails: Collection[int] = (),
) -> None:
    """Each clip is decoded once for its body and the tail the next fade needs (or a later
    one will: ``more_tails``); then the fades start from those tails (cached too) and the next
    clips' heads."""
    bodies: dict[int, tuple[str, Piece]] = {}
    fades: dict[int, tuple[str, Piece]] = {}
    copies: dict[str, Piece] = {}
    for key, piece in missing.items():
        if ad.copy_of(piece) is not None:
            copies[key] = piece
        else:
            (fades if len(piece.cuts) == 2 else bodies)[piece.cuts[0].clip] = (key, piece)
    tails = {clip: ad.tail_key(clip) for clip in {*fades, *more_tails}}
    lacking = {clip for clip, key in tails.items() if run.cache.lookup(key) is None}
    # A ready clip's tail is its own packets too: the fade decodes the very frames.
    copied_tails = {tails[clip]: ad.tail(clip) for clip in lacking if ad.copyable(ad.tail(clip))}
    lacking -= {cut.clip for cut in copied_tails.values()}
    encoded = [piece for key, piece in missing.items() if key not in copies]
    progress = _Progress(sum(piece.frames for piece in encoded), on_frames)  # copies are instant

    async def clip_run(clip: int) -> None:
        body = bodies.get(clip)
        outputs = ([body[0]] if body else []) + ([tails[clip]] if clip in lacking else [])

        def argv(paths: list[Path]) -> list[str]:
            made = dict(zip(outputs, paths, strict=True))
            piece = (body[1], made[body[0]]) if body else None
            return ad.clip_command(clip, piece, made.get(tails.get(clip, "")))

        await _produce(run, outputs, argv, progress.counter(f"clip{clip}"), pieces=bool(body))

    async def fade_run(key: str, piece: Piece) -> None:
        tail = run.cache.lookup(tails[piece.cuts[0].clip])
        if tail is None:
            raise RenderFailed(f"the tail of clips[{piece.cuts[0].clip}] left the cache")
        found = tail

        def argv(paths: list[Path]) -> list[str]:
            return ad.fade_command(piece, found, paths[0])

        await _produce(run, [key], argv, progress.counter(key), pieces=True)

    copying = [(key, ad.copy_of(piece)) for key, piece in copies.items()]
    copying += list(copied_tails.items())
    await _all(run.jobs, [functools.partial(_copy, ad, run, k, cut) for k, cut in copying])
    await _all(run.jobs, [functools.partial(clip_run, c) for c in sorted({*bodies, *lacking})])
    await _all(run.jobs, [functools.partial(fade_run, k, p) for k, p in fades.values()])


async def _copy(ad: Layout, run: SegmentRun, key: str, cut: Cut | None) -> None:
    """Frames of a ready clip (a body, or a tail a fade starts from) cut out of it by stream
    copy into the cache under ``key``; nothing is encoded, so nothing is counted."""
    ready = ad.ready[cut.clip] if cut is not None else None
    assert cut is not None and ready is not None
    clip = ad.timeline.segments[cut.clip].input.path
    written = await asyncio.to_thread(run.cache.temp_path, key)
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=written.parent, prefix=".cut."))
    try:
        await run_or_fail(body_argv(clip, cut.start, cut.end, ready.frames, folder), run.timeout_s)
        await asyncio.to_thread(body_part(cut.start, folder).replace, written)
        await asyncio.to_thread(run.cache.put, key, written, counted=False)
    finally:
        written.unlink(missing_ok=True)
        await asyncio.to_thread(shutil.rmtree, folder, True)


class _Progress:
    """Frames encoded over all FFmpeg runs of a compose (each run reports its own count)."""

    def __init__(self, total: int, on_frames: OnFrames) -> None:
        self._total, self._on_frames, self._done = total, on_frames, dict[str, int]()

    def counter(self, name: str) -> OnLine:
        parser = ProgressParser(1.0)  # at 1 fps its seconds are frames

        def on_line(line: str) -> None:
            if (frames := parser.feed(line)) is not None:
                self._done[name] = int(frames)
                self._on_frames(min(sum(self._done.values()), self._total), self._total)

        return on_line


async def _produce(
    run: SegmentRun,
    keys: list[str],
    argv: Callable[[list[Path]], list[str]],
    on_line: OnLine | None,
    *,
    pieces: bool,
) -> None:
    """One FFmpeg run writing a file per key, each moved into the cache once all are whole."""
    written = [await asyncio.to_thread(run.cache.temp_path, key) for key in keys]
    try:
        await run_or_fail(argv(written), run.timeout_s, on_line)
        for index, (key, path) in enumerate(zip(keys, written, strict=True)):
            # The first file is a piece when the run makes one (a tail alone is not).
            await asyncio.to_thread(run.cache.put, key, path, counted=pieces and index == 0)
    finally:
        for path in written:
            path.unlink(missing_ok=True)


async def _all(jobs: int, steps: list[Callable[[], Awaitable[None]]]) -> None:
    """Runs ``steps`` at most ``jobs`` at a time; the first failure (or a cancel) stops the
    others, their FFmpeg killed."""
    slots = asyncio.Semaphore(jobs)

    async def limited(step: Callable[[], Awaitable[None]]) -> None:
        async with slots:
            await step()

    tasks = [asyncio.create_task(limited(step)) for step in steps]
    try:
        await asyncio.gather(*tasks)
    finally:
        await cancel_and_wait(tasks)
