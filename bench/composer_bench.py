"""Composer benchmark: the one-pass render and the segment path (cold, after the last clip
lands, after one scene changed, pipelined with the clips as the studio runs it; cold and one
scene changed with ready clips, whose bodies are copied) vs a plain concat encode (lower
bound) vs MoviePy, and the one-pass render with a voice-over (ducking, mastering) and word
captions burned in.

Usage: python bench/composer_bench.py [--moviepy-python PATH] [--skip-moviepy] [--skip-voice]
       [--only composer,concat,...]
MoviePy is only needed here: `pip install -e .[bench]` (or point --moviepy-python at a venv that has it).
Each variant runs in a fresh subprocess so its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "composer"
CLIPS, CLIP_S, FPS, WIDTH, HEIGHT = 6, 5.5, 30, 1080, 1920
MUSIC_S, TRANSITION_S = 30.0, 0.5
# The encoder settings every variant shares: the composer's tiers (BENCH_TIER picks one).
TIERS = {"production": ("medium", "20"), "draft": ("veryfast", "23")}
TIER = os.environ.get("BENCH_TIER", "production")
PRESET, CRF = TIERS[TIER]
AUDIO_BITRATE = "192k"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


SEGMENTS = CACHE / "segments"  # the segment variants' cache: emptied by "pieces_cold"
READY = CACHE / "segments-ready"  # the ready variants' cache: emptied by "ready_cold"
PIPELINED = CACHE / "segments-pipelined"  # "pipelined"'s own, emptied by its setup
CHANGED_SCENE = 2  # "pieces_scene" regenerates this scene


def make_media() -> tuple[list[Path], Path]:
    """Six distinct 1080×1920 clips (and a seventh, a regenerated scene) and 30 s of music,
    made once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    clips = [CACHE / f"clip{i}.mp4" for i in range(CLIPS + 1)]
    for i, path in enumerate(clips):
        if not path.exists():
            source = f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={CLIP_S},hue=h={i * 50}"
            tmp = path.with_suffix(".part.mp4")
            _ffmpeg("-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "18", "-pix_fmt", "yuv420p", str(tmp))  # fmt: skip
            tmp.rename(path)
    music = CACHE / "music.m4a"
    if not music.exists():
        tone = f"aevalsrc=0.3*sin(2*PI*220*t)+0.2*sin(2*PI*277*t)+0.2*sin(2*PI*330*t):d={MUSIC_S}"
        tmp = music.with_suffix(".part.m4a")
        _ffmpeg("-f", "lavfi", "-i", tone, "-c:a", "aac", "-b:a", "192k", str(tmp))
        tmp.rename(music)
    return clips, music


def make_ready(clips: list[Path]) -> list[Path]:
    """The clips as the offline animatic writes draft clips (issue 17): re-encoded with this
    tier's x264 settings and GOPs where the crossfades begin and end, so the composer copies
    their bodies (services/composer/ready_clips.py). Made once per tier, before the clock."""
    from reelforge.runtime.encoding import ready_keyframes

    ready = [CACHE / f"ready-{TIER}-{i}.mp4" for i in range(len(clips))]
    frames = round(CLIP_S * FPS)
    forced = "+".join(f"eq(n,{at})" for at in ready_keyframes(frames, FPS, TRANSITION_S))
    for source, path in zip(clips, ready, strict=True):
        if not path.exists():
            tmp = path.with_suffix(".part.mp4")
            _ffmpeg("-i", str(source), "-c:v", "libx264", "-preset", PRESET, "-crf", CRF,
                    "-pix_fmt", "yuv420p", "-force_key_frames", f"expr:{forced}", str(tmp))  # fmt: skip
            tmp.rename(path)
    return ready


VOICE_LINES = (
    "Meet Lumen, the bottle that cleans itself.",
    "A UV light inside kills ninety nine percent of germs.",
    "No brushes, no soap, no smell.",
    "It keeps water cold for a whole day.",
    "Refill it anywhere you go.",
    "Get yours today at lumen dot com.",
)
VOICE_INTO_SCENE_S = 0.4  # each line starts this long after its scene


def make_voice() -> list[tuple[Path, list[dict[str, Any]]]]:
    """One espeak-ng line per scene (WAV + its word timings), made once and cached."""
    from services.generator.animatic.speech import speak

    CACHE.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, text in enumerate(VOICE_LINES):
        wav, timings = CACHE / f"voice{index}.wav", CACHE / f"voice{index}.json"
        if not timings.exists():
            speech = asyncio.run(speak(text, wav))
            words = [{"word": w.word, "start": w.start_s, "end": w.end_s} for w in speech.words]
            timings.write_text(json.dumps(words))
        lines.append((wav, json.loads(timings.read_text())))
    return lines


def _voice_inputs(
    store_ids: list[str], voice: list[tuple[Path, list[dict[str, Any]]]]
) -> list[Any]:
    from reelforge.v1 import common_pb2, composer_pb2

    return [
        composer_pb2.VoiceInput(
            source=artifact_id,
            start_seconds=index * (CLIP_S - TRANSITION_S) + VOICE_INTO_SCENE_S,
            words=[
                common_pb2.WordTiming(
                    word=w["word"], start_seconds=w["start"], end_seconds=w["end"]
                )
                for w in words
            ],
        )
        for index, (artifact_id, (_wav, words)) in enumerate(zip(store_ids, voice, strict=True))
    ]


async def _run_composer(
    clips: list[Path],
    music: Path,
    out: Path,
    voice: list[tuple[Path, list[dict[str, Any]]]],
    segments: Path | None = None,
    landed: list[int] | None = None,
) -> None:
    """One render of the ad (``out``); with ``landed``, PrepareSegments as each of those
    many clips has landed instead (``out`` untouched), every clip with its target length."""
    from reelforge.runtime.artifacts import ArtifactStore
    from reelforge.runtime.downloads import guarded_session
    from reelforge.v1 import common_pb2, composer_pb2
    from services.composer.inputs import Fetcher
    from services.composer.renderer import RenderContext, State, prepare, render
    from services.composer.segment_cache import SegmentCache

    class _Quiet:
        async def phase(self, state: State, percent: float, message: str) -> None:
            return None

        def progress(self, percent: float, message: str) -> None:
            return None

    store = ArtifactStore(CACHE / "store")
    ids = [(await store.put_file(p, "video/mp4")).id for p in [*clips, music]]
    voice_ids = [(await store.put_file(wav, "audio/wav")).id for wav, _words in voice]
    request = composer_pb2.ComposeRequest(
        clips=[composer_pb2.ClipInput(source=i) for i in ids[:-1]],
        music=ids[-1],
        voice=_voice_inputs(voice_ids, voice),  # captions follow the words by default
        transition_seconds=TRANSITION_S,
        tier=common_pb2.TIER_PRODUCTION if TIER == "production" else common_pb2.TIER_DRAFT,
        height=HEIGHT,
        fps=FPS,
    )
    if landed is not None or segments == PIPELINED:
        for clip in request.clips:
            clip.target_duration_seconds = CLIP_S  # as the studio sends them
    async with guarded_session([]) as session:
        fetcher = Fetcher(store=store, session=session, allow=[], max_bytes=1 << 31, attempts=1)
        cache = SegmentCache(segments) if segments else None
        context = RenderContext(fetcher, store, "production", timeout_s=3600, segments=cache)
        if landed is not None:
            for count in landed:
                early = composer_pb2.ComposeRequest()
                early.CopyFrom(request)
                for clip in early.clips[count:]:
                    clip.source = ""  # not made yet
                await prepare(early, context, CACHE / "work")
            return
        if segments == PIPELINED:  # the last clip has landed: the studio prepares it, then composes
            await prepare(request, context, CACHE / "work")
        result = await render(request, context, _Quiet(), CACHE / "work")
    store.path_for(result.artifact.id).replace(out)
    if cache is not None:
        PIECES_ENCODED.append(cache.encoded)


PIECES_ENCODED: list[int] = []


def variant_composer(clips: list[Path], music: Path, out: Path) -> None:
    """The one-pass render (the path max_size_bytes still takes)."""
    asyncio.run(_run_composer(clips[:CLIPS], music, out, voice=[]))


def variant_pieces_cold(clips: list[Path], music: Path, out: Path) -> None:
    """The segment path with an empty cache: every body and fade encoded, then joined."""
    asyncio.run(_run_composer(clips[:CLIPS], music, out, voice=[], segments=SEGMENTS))


def variant_pieces_last(clips: list[Path], music: Path, out: Path) -> None:
    """Compose once the last clip lands, the other scenes' pieces already cached (by the cold
    run): the last body and the fade into it are encoded."""
    ad = [*clips[: CLIPS - 1], clips[CLIPS]]
    asyncio.run(_run_composer(ad, music, out, voice=[], segments=SEGMENTS))


def variant_pieces_scene(clips: list[Path], music: Path, out: Path) -> None:
    """Re-render after one middle scene was regenerated: its body and two fades are encoded."""
    ad = list(clips[:CLIPS])
    ad[CHANGED_SCENE] = clips[CLIPS]
    asyncio.run(_run_composer(ad, music, out, voice=[], segments=SEGMENTS))


def variant_ready_cold(clips: list[Path], music: Path, out: Path) -> None:
    """Ready clips (the animatic's kind), an empty cache: the five fades encoded, the six
    bodies copied, then joined."""
    asyncio.run(_run_composer(make_ready(clips)[:CLIPS], music, out, voice=[], segments=READY))


def variant_ready_scene(clips: list[Path], music: Path, out: Path) -> None:
    """Ready clips, after one middle scene was regenerated (another ready clip): its two fades
    encoded, its body copied; the rest reused from "ready_cold"."""
    ad = make_ready(clips)
    ad[CHANGED_SCENE] = ad[CLIPS]
    asyncio.run(_run_composer(ad[:CLIPS], music, out, voice=[], segments=READY))


def setup_pipelined(clips: list[Path], music: Path) -> None:
    """Before the clock: an empty cache of its own, then PrepareSegments as clips 1…5 land
    (what the studio does while the last one still generates)."""
    shutil.rmtree(PIPELINED, ignore_errors=True)
    landed = list(range(1, CLIPS))
    asyncio.run(_run_composer(clips[:CLIPS], music, Path(), [], PIPELINED, landed))


def variant_pipelined(clips: list[Path], music: Path, out: Path) -> None:
    """The studio's path once the last clip lands: PrepareSegments for it (its body and the
    fade into it), then the Compose, which finds every piece cached and joins."""
    asyncio.run(_run_composer(clips[:CLIPS], music, out, voice=[], segments=PIPELINED))


def variant_voiced(clips: list[Path], music: Path, out: Path) -> None:
    """The composer with six voice lines: stems and mix measured, music ducked, mix mastered
    to −14 LUFS, word captions burned in with libass, SRT/WebVTT stored."""
    asyncio.run(_run_composer(clips[:CLIPS], music, out, voice=make_voice()))


def variant_concat(clips: list[Path], music: Path, out: Path) -> None:
    """The lower bound: the same clips concatenated (no transitions), same encoder settings."""
    clips = clips[:CLIPS]
    inputs = [arg for clip in clips for arg in ("-i", str(clip))]
    joined = "".join(f"[{i}:v]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=1:a=0[v]"
    _ffmpeg(*inputs, "-i", str(music), "-filter_complex", joined, "-map", "[v]",
            "-map", f"{len(clips)}:a", "-shortest", "-c:v", "libx264", "-preset", PRESET,
            "-crf", CRF, "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", AUDIO_BITRATE,
            "-movflags", "+faststart", str(out))  # fmt: skip


def variant_moviepy(clips: list[Path], music: Path, out: Path) -> None:
    """MoviePy 2 (MoneyPrinterTurbo's renderer) doing the same crossfades and music fade."""
    from moviepy import AudioFileClip, VideoFileClip, afx, concatenate_videoclips, vfx

    videos = [VideoFileClip(str(p)) for p in clips[:CLIPS]]
    faded = [videos[0], *(v.with_effects([vfx.CrossFadeIn(TRANSITION_S)]) for v in videos[1:])]
    video = concatenate_videoclips(faded, method="compose", padding=-TRANSITION_S)
    audio = AudioFileClip(str(music)).subclipped(0, min(MUSIC_S, video.duration))
    video = video.with_audio(audio.with_effects([afx.AudioFadeOut(1.0)]))
    video.write_videofile(
        str(out), fps=FPS, codec="libx264", preset=PRESET, audio_codec="aac",
        audio_bitrate=AUDIO_BITRATE, logger=None,
        ffmpeg_params=["-crf", CRF, "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
    )  # fmt: skip


VARIANTS = {
    "composer": variant_composer,
    "pieces_cold": variant_pieces_cold,
    "pieces_last": variant_pieces_last,
    "pieces_scene": variant_pieces_scene,
    "pipelined": variant_pipelined,
    "ready_cold": variant_ready_cold,
    "ready_scene": variant_ready_scene,
    "voiced": variant_voiced,
    "concat": variant_concat,
    "moviepy": variant_moviepy,
}


def _child(name: str) -> None:
    """Runs one variant in this (fresh) process and prints its measurements as JSON."""
    clips, music = make_media()
    make_voice()  # cached before the clock starts, like the clips
    out = CACHE / f"out-{name}.mp4"
    make_ready(clips)
    if name in ("pieces_cold", "ready_cold"):
        shutil.rmtree(SEGMENTS if name == "pieces_cold" else READY, ignore_errors=True)
    ahead_wall, ahead_cpu = 0.0, 0.0
    if name in SETUP:  # work done before the moment measured (while clips still generate)
        started, base = time.perf_counter(), _cpu_s()
        SETUP[name](clips, music)
        ahead_wall, ahead_cpu = time.perf_counter() - started, _cpu_s() - base
    # CPU seconds (user + system, this process and its FFmpeg children) are what a busy
    # shared machine distorts least; wall time is what a user waits. Both start here: the
    # media made above (once, cached) is not the variant's.
    started, base = time.perf_counter(), _cpu_s()
    VARIANTS[name](clips, music, out)
    wall = time.perf_counter() - started
    cpu = _cpu_s() - base
    print(json.dumps({
        "wall_s": wall,
        "cpu_s": cpu,
        "ahead_wall_s": ahead_wall,
        "ahead_cpu_s": ahead_cpu,
        "ffmpeg_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "python_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "size_bytes": out.stat().st_size,
        "pieces_encoded": PIECES_ENCODED[0] if PIECES_ENCODED else None,
    }))  # fmt: skip


SETUP = {"pipelined": setup_pipelined}


def _cpu_s() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(name: str, python: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # MoviePy's bundled FFmpeg would differ from the system one the other variants use.
    env.setdefault("IMAGEIO_FFMPEG_EXE", "ffmpeg")
    done = subprocess.run(
        [python, __file__, "--child", name], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _has_moviepy(python: str) -> bool:
    check = subprocess.run([python, "-c", "import moviepy"], capture_output=True, check=False)
    return check.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--moviepy-python", default=sys.executable, help="interpreter with moviepy")
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument("--skip-voice", action="store_true", help="leave out the voiced variant")
    parser.add_argument("--tier", choices=sorted(TIERS), default="production")
    parser.add_argument(
        "--only", help="comma-separated variants to run (concat is always run: the bound)"
    )
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    os.environ["BENCH_TIER"] = args.tier  # the variants' subprocesses read it
    print(f"tier {args.tier} (x264 preset {TIERS[args.tier][0]}, crf {TIERS[args.tier][1]})")
    print("making media (cached in bench/.cache/composer) ...", flush=True)
    make_media()
    make_voice()
    # Bound first; the segment variants in this order: "last" and "scene" reuse what "cold"
    # cached (the other scenes' pieces), as a studio's re-compose would.
    names = ["concat", "composer", "pieces_cold", "pieces_last", "pieces_scene", "pipelined"]
    names += ["ready_cold", "ready_scene"]
    if args.only:
        names = ["concat", *(n for n in names[1:] if n in args.only.split(","))]
    results = {name: _measure(name, sys.executable) for name in names}
    if not args.skip_voice:
        results["voiced"] = _measure("voiced", sys.executable)
    if args.skip_moviepy:
        pass
    elif _has_moviepy(args.moviepy_python):
        results["moviepy"] = _measure("moviepy", args.moviepy_python)
    else:
        print("MoviePy is not installed: pip install -e .[bench]  (or pass --moviepy-python)")
    _report(results)


# (variant, what it stands for, target of its ratio to the bound: wall, cpu)
_AGAINST_BOUND = (
    ("composer", "one pass", None),
    ("pieces_cold", "cold compose by pieces", (1.05, 1.10)),
    ("pieces_last", "compose after the last clip lands", (0.25, 0.25)),
    ("pieces_scene", "re-render after one scene changed", (0.15, 0.15)),
    ("pipelined", "after the last clip lands, pieces prepared as clips landed", (0.25, 0.25)),
    ("ready_cold", "cold compose of ready clips (bodies copied)", (1.05, 1.10)),
    ("ready_scene", "ready clips, re-render after one scene changed", (0.15, 0.15)),
)


def _report(results: dict[str, dict[str, Any]]) -> None:
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    header = ("variant", "wall s", "cpu s", "ffmpeg peak MB", "python peak MB", "size MB", "pieces")
    print("{:<13} {:>8} {:>8} {:>15} {:>15} {:>8} {:>7}".format(*header))
    for name, r in results.items():
        pieces = "" if r.get("pieces_encoded") is None else str(r["pieces_encoded"])
        print(f"{name:<13} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['ffmpeg_peak_mb']:>15.0f} "
              f"{r['python_peak_mb']:>15.0f} {r['size_bytes'] / 1e6:>8.2f} {pieces:>7}")  # fmt: skip
    bound = results["concat"]
    for name, meaning, target in _AGAINST_BOUND:
        if name not in results:
            continue
        wall, cpu = (results[name][m] / bound[m] for m in ("wall_s", "cpu_s"))
        goal = f" (target ≤ {target[0]} / ≤ {target[1]})" if target else ""
        print(f"{name} / concat, wall / cpu: {wall:.2f} / {cpu:.2f}  {meaning}{goal}")
    if "pipelined" in results:
        ahead = results["pipelined"]
        wall, cpu = (ahead[f"ahead_{m}"] / bound[m] for m in ("wall_s", "cpu_s"))
        print(f"pipelined: prepared while clips 1-5 landed, wall / cpu: {wall:.2f} / {cpu:.2f}")
    if "moviepy" in results:
        for name in ("composer", "pieces_cold", "ready_cold"):
            if name not in results:
                continue
            wall, cpu = (results["moviepy"][m] / results[name][m] for m in ("wall_s", "cpu_s"))
            print(f"moviepy / {name}, wall / cpu: {wall:.2f} / {cpu:.2f} (target ≥ 6)")
    if "voiced" in results and "composer" in results:
        voiced, ours = results["voiced"], results["composer"]
        print(f"voiced / composer, cpu: {voiced['cpu_s'] / ours['cpu_s']:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
