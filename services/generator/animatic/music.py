"""Offline music bed: a chord progression with pads, bass, arpeggio and drums, synthesised in
NumPy and encoded to AAC (.m4a) by FFmpeg.

The prompt's mood words choose the tempo range, the mode and the progression (see
:func:`plan_music`); the seed and prompt pick within them. Everything random comes from
generators seeded by sha256 of (seed, prompt), so the same arguments give the same PCM.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.generator.animatic._common import check_duration, derive_seed, ffmpeg_to_file

MAX_DURATION_S = 600.0
PEAK = 10 ** (-1.0 / 20)  # -1 dBFS
Signal = NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# The plan: mood → tempo, mode, progression

_MOOD_WORDS: dict[str, frozenset[str]] = {
    "energetic": frozenset(
        [
            "energetic",
            "energy",
            "upbeat",
            "fun",
            "exciting",
            "excited",
            "hype",
            "party",
            "dance",
            "dancing",
            "fast",
            "punchy",
            "bold",
            "sport",
            "sports",
            "sporty",
            "vibrant",
            "playful",
            "bright",
            "happy",
            "joyful",
            "cheerful",
            "pop",
            "edm",
            "electro",
            "action",
            "dynamic",
            "powerful",
            "driving",
            "summer",
            "youthful",
            "lively",
            "festive",
        ]
    ),
    "calm": frozenset(
        [
            "calm",
            "calming",
            "luxury",
            "luxurious",
            "elegant",
            "elegance",
            "relaxing",
            "relaxed",
            "relax",
            "soft",
            "gentle",
            "serene",
            "peaceful",
            "ambient",
            "chill",
            "mellow",
            "minimal",
            "minimalist",
            "premium",
            "spa",
            "tranquil",
            "dreamy",
            "slow",
            "smooth",
            "sophisticated",
            "warm",
            "cozy",
            "intimate",
            "lofi",
            "lo-fi",
            "acoustic",
            "soothing",
            "delicate",
        ]
    ),
    "dark": frozenset(
        [
            "dark",
            "dramatic",
            "drama",
            "mysterious",
            "mystery",
            "suspense",
            "suspenseful",
            "tense",
            "tension",
            "intense",
            "moody",
            "cinematic",
            "epic",
            "ominous",
            "noir",
            "night",
            "brooding",
            "haunting",
            "gritty",
            "thriller",
            "sinister",
            "somber",
            "sombre",
            "melancholic",
            "melancholy",
            "sad",
        ]
    ),
}
# Tie-break order when two moods score the same.
_MOOD_ORDER = ("dark", "energetic", "calm")

_TEMPO: dict[str, tuple[float, float]] = {
    "energetic": (120.0, 132.0),
    "neutral": (96.0, 110.0),
    "dark": (84.0, 96.0),
    "calm": (68.0, 80.0),
}

Chord = tuple[int, tuple[int, ...]]  # (root, semitones above the key's tonic; chord intervals)
# Chords in Roman numerals over the key's tonic: upper case major, lower case minor, "b" a
# semitone lower (bVI in a minor key: the sixth of its scale), "7"/"maj7"/"add9" the added note.
_PROGRESSIONS_WRITTEN: dict[str, tuple[str, ...]] = {
    "energetic": ("I V vi IV", "vi IV I V", "I IV vi V"),
    "calm": ("Imaj7 vi7 IVmaj7 Vadd9", "Imaj7 IVmaj7", "Imaj7 iii7 IVmaj7 IVmaj7"),
    "dark": ("i bVI bIII bVII", "i iv bVI V", "i7 bVII bVI bVII"),
    "neutral": ("I IV vi V", "Iadd9 vi7 IV V"),
}
_DEGREES = {"i": 0, "ii": 2, "iii": 4, "iv": 5, "v": 7, "vi": 9, "vii": 11}
_CHORD_RE = re.compile(r"(b?)([IViv]+)(maj7|7|add9)?")
_INTERVALS = {
    (True, None): (0, 4, 7),
    (False, None): (0, 3, 7),
    (True, "maj7"): (0, 4, 7, 11),
    (False, "7"): (0, 3, 7, 10),
    (True, "add9"): (0, 4, 7, 14),
}


def _chord(symbol: str) -> Chord:
    """A chord written as in _PROGRESSIONS_WRITTEN → (root, intervals); "bVI" → (8, (0, 4, 7))."""
    match = _CHORD_RE.fullmatch(symbol)
    if match is None:
        raise ValueError(f"not a chord in Roman numerals: {symbol!r}")
    flat, numeral, added = match.groups()
    root = (_DEGREES[numeral.lower()] - (1 if flat else 0)) % 12
    return root, _INTERVALS[(numeral.isupper(), added)]


_PROGRESSIONS: dict[str, tuple[tuple[Chord, ...], ...]] = {
    mood: tuple(tuple(_chord(symbol) for symbol in written.split()) for written in options)
    for mood, options in _PROGRESSIONS_WRITTEN.items()
}
# Minor-mode progressions for moods that default to major, when the prompt asks for minor.
_MINOR_FALLBACK = _PROGRESSIONS["dark"]
_MAJOR_FALLBACK = _PROGRESSIONS["neutral"]

_NOTE = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_KEY_RE = re.compile(
    r"\b(?:in|key(?:\s+of)?:?)\s+([a-g])(#|♯|b|♭|[\s-]sharp|[\s-]flat)?\s*(major|minor|maj|min)\b"
)
_BPM_RE = re.compile(r"\b(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)\b")
_WORD_RE = re.compile(r"[a-z][a-z\-]*")


@dataclass(frozen=True)
class MusicPlan:
    mood: str  # "energetic", "calm", "dark" or "neutral"
    tempo_bpm: float
    tonic: int  # Pitch class of the key, 0 = C.
    mode: str  # "major" or "minor"
    progression: tuple[Chord, ...]  # One chord per bar.

    @property
    def key_name(self) -> str:
        names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
        return f"{names[self.tonic]} {self.mode}"


def mood_of(prompt: str) -> str:
    """The mood whose words the prompt uses most; "neutral" when it uses none."""
    words = _WORD_RE.findall(prompt.lower())
    scores = {mood: sum(w in vocab for w in words) for mood, vocab in _MOOD_WORDS.items()}
    best = max(_MOOD_ORDER, key=lambda mood: (scores[mood], -_MOOD_ORDER.index(mood)))
    return best if scores[best] > 0 else "neutral"


def plan_music(prompt: str, seed: int) -> MusicPlan:
    """Tempo, key and progression for the prompt.

    Mood → tempo and mode: energetic 120–132 BPM major; neutral 96–110 major; dark 84–96
    minor; calm 68–80 major with seventh chords. An explicit "NNN bpm" (40–200) or key
    ("A minor", "F# major") in the prompt wins. The tonic, when not given, comes from the seed
    and prompt.
    """
    text = prompt.lower()
    rng = random.Random(derive_seed(seed, "music-plan", prompt))
    mood = mood_of(prompt)
    lo, hi = _TEMPO[mood]
    tempo = round(rng.uniform(lo, hi))
    if bpm := _BPM_RE.search(text):
        tempo = round(min(200.0, max(40.0, float(bpm.group(1)))))
    mode = "minor" if mood == "dark" else "major"
    tonic = rng.randrange(12)
    if key := _KEY_RE.search(text):
        letter, accidental, quality = key.groups()
        shift = 0 if not accidental else 1 if accidental[-1] in "#♯p" else -1
        tonic = (_NOTE[letter] + shift) % 12
        mode = "major" if quality in ("major", "maj") else "minor"
    if mode == "minor":
        options = _PROGRESSIONS["dark"] if mood == "dark" else _MINOR_FALLBACK
    else:
        options = _PROGRESSIONS[mood] if mood != "dark" else _MAJOR_FALLBACK
    return MusicPlan(mood, float(tempo), tonic, mode, rng.choice(options))


# --------------------------------------------------------------------------------------------
# Synthesis


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


@dataclass(frozen=True)
class _Style:
    pad_attack: float
    pad_level: float
    bass_steps: int  # Bass notes per beat (0.5 = one per two beats).
    bass_level: float
    arp_steps: int  # Arpeggio notes per beat; 0 = none.
    arp_level: float
    kick_beats: tuple[float, ...]  # Beats of the bar (0–3.x) with a kick.
    snare_beats: tuple[float, ...]
    hat_steps: int  # Hi-hats per beat; 0 = none.
    hat_level: float
    drum_level: float


_STYLES = {
    "energetic": _Style(0.05, 0.16, 2, 0.34, 4, 0.09, (0, 1, 2, 3), (1, 3), 2, 0.07, 0.8),
    "neutral": _Style(0.15, 0.18, 1, 0.32, 2, 0.08, (0, 2, 2.5), (1, 3), 2, 0.05, 0.65),
    "dark": _Style(0.4, 0.2, 2, 0.36, 2, 0.06, (0, 2.5), (2,), 4, 0.035, 0.6),
    "calm": _Style(0.9, 0.22, 0, 0.26, 1, 0.07, (0,), (), 0, 0.0, 0.3),
}


class _Mixer:
    """Adds notes into a stereo buffer; events beyond the end are clipped."""

    def __init__(self, n: int, sample_rate: int) -> None:
        self.sr = sample_rate
        self.out = np.zeros((n, 2), dtype=np.float64)

    def add(self, start_s: float, mono: Signal, gain: float = 1.0, pan: float = 0.0) -> None:
        """Mixes ``mono`` × ``gain`` in at ``start_s``, panned -1 (left) … 1 (right)."""
        start = round(start_s * self.sr)
        n = self.out.shape[0]
        if start >= n or mono.size == 0:
            return
        seg = mono[: n - start]
        angle = (pan + 1) * math.pi / 4  # Constant-power pan; centre is unity gain.
        self.out[start : start + seg.size, 0] += seg * (gain * math.cos(angle) * math.sqrt(2))
        self.out[start : start + seg.size, 1] += seg * (gain * math.sin(angle) * math.sqrt(2))


def _t(length_s: float, sr: int) -> Signal:
    return np.arange(max(1, round(length_s * sr)), dtype=np.float64) / sr


_TABLE_SIZE = 8192


def _wavetable(harmonics: tuple[tuple[int, float], ...]) -> Signal:
    """One cycle of a waveform made of ``(harmonic, amplitude)`` partials."""
    x = np.arange(_TABLE_SIZE, dtype=np.float64) / _TABLE_SIZE
    table: Signal = sum(
        (amp * np.sin(2 * math.pi * h * x) for h, amp in harmonics), np.zeros_like(x)
    )
    return table


_PAD_TABLE = _wavetable(((1, 1.0), (2, 0.4), (3, 0.18), (4, 0.08)))  # A soft saw.


def _oscillator(table: Signal, freq: float, t: Signal) -> Signal:
    index = ((freq * t) % 1.0 * _TABLE_SIZE).astype(np.intp) % _TABLE_SIZE
    out: Signal = table[index]
    return out


def _pad_note(freq: float, hold_s: float, attack_s: float, sr: int, detune: float) -> Signal:
    """A soft saw-like tone (four harmonics, two detuned voices) with attack, hold and release."""
    release = 0.6
    t = _t(hold_s + release, sr)
    tone = _oscillator(_PAD_TABLE, freq * 2 ** (-detune / 1200), t)
    tone += _oscillator(_PAD_TABLE, freq * 2 ** (detune / 1200), t)
    attack = np.clip(t / max(attack_s, 1e-3), 0.0, 1.0)
    tail = np.clip(1.0 - (t - hold_s) / release, 0.0, 1.0)
    out: Signal = tone * attack * tail * 0.25
    return out


def _pluck(freq: float, length_s: float, decay: float, sr: int, bright: float = 0.3) -> Signal:
    t = _t(length_s, sr)
    tone = np.sin(2 * math.pi * freq * t) + bright * np.sin(4 * math.pi * freq * t)
    env = np.exp(-t * decay) * np.clip(t / 0.006, 0.0, 1.0)
    env *= np.clip((length_s - t) / 0.01, 0.0, 1.0)  # No click at the cut.
    out: Signal = tone * env
    return out


def _kick(sr: int) -> Signal:
    t = _t(0.35, sr)
    freq = 45.0 + 85.0 * np.exp(-t * 32.0)
    phase = 2 * math.pi * np.cumsum(freq) / sr
    kick: Signal = np.sin(phase) * np.exp(-t * 9.0) * np.clip(t / 0.002, 0.0, 1.0)
    return kick


def _snare(noise: Signal, sr: int) -> Signal:
    t = _t(0.22, sr)
    n = noise[: t.size]
    bright = np.diff(n, prepend=0.0)  # A crude high-pass.
    body = 0.5 * np.sin(2 * math.pi * 185.0 * t) * np.exp(-t * 30.0)
    return (0.6 * bright * np.exp(-t * 20.0) + body) * 0.8


def _hat(noise: Signal, sr: int) -> Signal:
    t = _t(0.06, sr)
    n = noise[: t.size]
    hp = np.diff(np.diff(n, prepend=0.0), prepend=0.0)
    return hp * np.exp(-t * 70.0) * 0.5


def synthesize_pcm(
    *, prompt: str, duration_s: float, seed: int, sample_rate: int = 44100
) -> NDArray[np.float32]:
    """The track as float32 stereo samples, shape (round(duration_s × sample_rate), 2), peak
    at -1 dBFS, with a fade in and out. Pure: the same arguments give the same array."""
    duration = check_duration(duration_s, limit_s=MAX_DURATION_S)
    if not 8000 <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be 8000–192000, got {sample_rate}")
    sr = sample_rate
    n = max(1, round(duration * sr))
    plan = plan_music(prompt, seed)
    style = _STYLES[plan.mood]
    rng = random.Random(derive_seed(seed, "music-notes", prompt))
    noise: Signal = (
        np.random.Generator(np.random.PCG64(derive_seed(seed, "noise", prompt))).random(sr) * 2.0
        - 1.0
    )
    beat = 60.0 / plan.tempo_bpm
    bar = 4 * beat
    mix = _Mixer(n, sr)
    base = 48 + (plan.tonic if plan.tonic <= 6 else plan.tonic - 12)  # Tonic near C3.
    kick, snare, hat = _kick(sr), _snare(noise, sr), _hat(noise[sr // 2 :], sr)
    arp_up = rng.random() < 0.5
    memo: dict[tuple[object, ...], Signal] = {}

    def once(make: Callable[..., Signal], *args: float) -> Signal:
        """Chords repeat every loop: each distinct note is synthesised once."""
        key = (make.__name__, *args)
        if key not in memo:
            memo[key] = make(*args)
        return memo[key]

    for b in range(math.ceil(duration / bar)):
        start = b * bar
        root, intervals = plan.progression[b % len(plan.progression)]
        chord_root = base + root
        if chord_root > base + 7:
            chord_root -= 12  # Keep the voicing close to the tonic.
        notes = [chord_root + i for i in intervals]
        # Pads: the chord an octave up, spread left/right.
        for k, note in enumerate(notes):
            pad = once(_pad_note, _hz(note + 12), bar, style.pad_attack, sr, 7.0)
            mix.add(start, pad, style.pad_level, pan=(-0.5 + k / max(1, len(notes) - 1)) * 0.8)
        # Bass: the chord's root two octaves down from the pads.
        if style.bass_steps:
            step = beat / style.bass_steps
            for s in range(4 * style.bass_steps):
                note = chord_root - 12 + (12 if plan.mood == "energetic" and s % 2 else 0)
                tone = once(_pluck, _hz(note), step * 0.95, 5.0, sr)
                mix.add(start + s * step, tone, style.bass_level)
        else:
            note = chord_root - 12
            tone = once(_pluck, _hz(note), bar, 1.2, sr, 0.1)
            mix.add(start, tone, style.bass_level)
        # Arpeggio: the chord's tones two octaves up, rising or falling.
        if style.arp_steps:
            tones = [note + 24 for note in notes]
            tones = tones if arp_up else tones[::-1]
            step = beat / style.arp_steps
            decay = 9.0 if style.arp_steps > 1 else 3.0
            for s in range(4 * style.arp_steps):
                note = tones[s % len(tones)]
                tone = once(_pluck, _hz(note), step * 1.5, decay, sr)
                mix.add(start + s * step, tone, style.arp_level, 0.35 if s % 2 else -0.35)
        # Drums.
        for pos in style.kick_beats:
            mix.add(start + pos * beat, kick, style.drum_level * 0.9)
        for pos in style.snare_beats:
            mix.add(start + pos * beat, snare, style.drum_level * 0.5)
        if style.hat_steps:
            for s in range(4 * style.hat_steps):
                accent = 1.0 if s % 2 == 0 else 0.6
                mix.add(start + s * beat / style.hat_steps, hat, style.hat_level * accent, 0.2)
    out = np.tanh(mix.out * 1.1)  # Gentle saturation glues the mix and tames peaks.
    _fade(out, sr, duration)
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= PEAK / peak
    return out.astype(np.float32)


def _fade(out: Signal, sr: int, duration: float) -> None:
    """Fades in over min(1 s, 10%) and out over min(2.5 s, 20%) of the track, on a sine curve."""
    n = out.shape[0]
    fade_in = max(1, min(round(sr * min(1.0, duration * 0.1)), n))
    fade_out = max(1, min(round(sr * min(2.5, duration * 0.2)), n))
    out[:fade_in] *= np.sin(np.linspace(0.0, math.pi / 2, fade_in))[:, None] ** 2
    out[n - fade_out :] *= np.cos(np.linspace(0.0, math.pi / 2, fade_out))[:, None] ** 2


# --------------------------------------------------------------------------------------------
# Encoding


def _pcm_bytes(pcm: NDArray[np.float32]) -> bytes:
    data: bytes = np.clip(np.rint(pcm * 32767.0), -32768, 32767).astype("<i2").tobytes()
    return data


def _encode_args(sample_rate: int, bitrate: str) -> list[str]:
    return [
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "2", "-i", "pipe:0",
        "-c:a", "aac", "-b:a", bitrate,
        "-threads", "1",
        "-map_metadata", "-1",
        "-movflags", "+faststart",
        "-f", "ipod",
    ]  # fmt: skip


async def render_music(
    *,
    prompt: str,
    duration_s: float,
    seed: int,
    dest: Path,
    sample_rate: int = 44100,
    bitrate: str = "160k",
    executor: Executor | None = None,
) -> None:
    """Writes the track (see :func:`synthesize_pcm`) as stereo AAC in an .m4a at ``dest``.

    Synthesis runs in ``executor`` (the loop's default thread pool if None; a process pool works
    too), so the event loop stays free; then FFmpeg encodes as an asyncio subprocess: cancelling
    kills it and leaves no partial file. Raises RenderError if FFmpeg fails, ValueError on bad
    arguments.
    """
    loop = asyncio.get_running_loop()
    pcm = await loop.run_in_executor(
        executor, _synthesize_bytes, prompt, duration_s, seed, sample_rate
    )
    await ffmpeg_to_file(
        _encode_args(sample_rate, bitrate), dest, what=f"music {dest.name}", stdin_data=pcm
    )


def _synthesize_bytes(prompt: str, duration_s: float, seed: int, sample_rate: int) -> bytes:
    pcm = synthesize_pcm(prompt=prompt, duration_s=duration_s, seed=seed, sample_rate=sample_rate)
    return _pcm_bytes(pcm)


def describe(plan: MusicPlan) -> str:
    """One line for logs: "energetic, 126 BPM, A major, 4-chord loop"."""
    return (
        f"{plan.mood}, {plan.tempo_bpm:g} BPM, {plan.key_name}, {len(plan.progression)}-chord loop"
    )
