"""Offline voice-over: real speech from espeak-ng, with word timings from espeak-ng's own events.

espeak-ng reports a WORD event, with its position in the audio in milliseconds, as it
synthesises each word; those onsets are the engine's, not an estimate by length. A word ends
where its sound ends: the last 10 ms frame above a silence threshold before the next word
starts (or before the audio ends), so pauses at commas and full stops are not counted as speech.

Synthesis runs in a child process (``python -m services.generator.animatic.speech``): the
library keeps global state and blocks while it speaks, and a child can be killed on a
deadline or cancel. It sounds robotic; it is a preview of the real voice-over.
"""

from __future__ import annotations

import array
import asyncio
import ctypes
import ctypes.util
import json
import math
import re
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from reelforge.runtime.subprocesses import die_with_parent
from services.generator.records import TimedWord

_FRAME_S = 0.01
_OUTER_PUNCTUATION = "\"'“”‘’«»()[]{}.,;:!?…—–-"
# Frames quieter than this (RMS of 16-bit samples, ≈ −50 dBFS) are silence.
_SILENCE_RMS = 100.0
_WORD_EVENT = 1  # espeakEVENT_WORD
_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples arrive through the callback
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: errors are returned, not exit()
_CHARS_UTF8 = 1
_RATE = 1  # espeakRATE, words per minute


class SpeechError(RuntimeError):
    """espeak-ng is missing, failed, or ran past its deadline."""


@dataclass(frozen=True)
class Speech:
    wav: Path
    duration_s: float
    words: list[TimedWord]


async def speak(
    text: str,
    wav: Path,
    *,
    voice: str = "en-us",
    words_per_minute: int = 165,
    timeout_s: float = 60.0,
) -> Speech:
    """Speaks ``text`` into ``wav`` (mono 16-bit PCM at espeak-ng's rate) with word timings."""
    request = json.dumps({"text": text, "wav": str(wav), "voice": voice, "wpm": words_per_minute})
    process = await asyncio.create_subprocess_exec(
        *die_with_parent([sys.executable, "-m", __name__]),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(request.encode()), timeout_s)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise SpeechError(f"espeak-ng failed: {err.decode(errors='replace').strip()[-300:]}")
    answer = json.loads(out)
    words = [TimedWord(w["word"], w["start_s"], w["end_s"]) for w in answer["words"]]
    return Speech(wav, answer["duration_s"], words)


@dataclass(frozen=True)
class _Synthesis:
    samples: array.array[int]
    rate: int
    onsets: list[tuple[int, int, float]]  # (text position 1-based, length, start seconds)


def _synthesize(text: str, voice: str, words_per_minute: int) -> _Synthesis:
    library = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        espeak = ctypes.CDLL(library)
    except OSError as error:
        raise SpeechError(f"espeak-ng is not installed ({error})") from error
    rate = espeak.espeak_Initialize(_SYNCHRONOUS, 0, None, _DONT_EXIT)
    if rate <= 0:
        raise SpeechError("espeak-ng could not initialise (is espeak-ng-data installed?)")
    if espeak.espeak_SetVoiceByName(voice.encode()) != 0:
        raise SpeechError(f"espeak-ng has no voice {voice!r}")
    espeak.espeak_SetParameter(_RATE, words_per_minute, 0)
    samples: array.array[int] = array.array("h")
    onsets: list[tuple[int, int, float]] = []

    def on_audio(wav: ctypes.c_void_p, count: int, events: ctypes.c_void_p) -> int:
        if wav and count > 0:
            samples.extend(ctypes.cast(wav, ctypes.POINTER(ctypes.c_short))[:count])
        event = ctypes.cast(events, ctypes.POINTER(_Event))
        for index in range(1024):  # the list ends with a LIST_TERMINATED (0) event
            if event[index].type == 0:
                break
            if event[index].type == _WORD_EVENT:
                item = event[index]
                onsets.append((item.text_position, item.length, item.audio_position / 1000))
        return 0

    callback = _CALLBACK(on_audio)
    espeak.espeak_SetSynthCallback(callback)
    encoded = text.encode()
    status = espeak.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
    espeak.espeak_Synchronize()
    if status != 0:
        raise SpeechError(f"espeak-ng could not speak the text (error {status})")
    return _Synthesis(samples, rate, onsets)


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)


def word_timings(text: str, synthesis: _Synthesis) -> list[TimedWord]:
    """The text's words, each from its onset to the end of its sound (see the module docstring).

    Words are the text's own (whitespace-separated, outer punctuation stripped), so captions
    show what was written. espeak-ng's events map onto them by character position; a word
    that speaks as several (``9:30``, ``100%``) takes its first event. A word with no event of
    its own (espeak-ng speaks some phrases, such as "déjà vu", as one dictionary entry) shares
    the preceding word's span, split by character count: the only estimated timings.
    """
    tokens = _tokens(text)
    onsets: dict[int, float] = {}
    for position, _length, start_s in synthesis.onsets:
        index = _token_at(tokens, position - 1)
        if index is not None:
            onsets.setdefault(index, start_s)
    loud = _loud_frames(synthesis.samples, synthesis.rate)
    total_s = len(synthesis.samples) / synthesis.rate
    timed = sorted(onsets)
    words: list[TimedWord] = []
    for rank, index in enumerate(timed):
        limit_s = onsets[timed[rank + 1]] if rank + 1 < len(timed) else total_s
        end_s = _sound_end(loud, onsets[index], limit_s)
        group_end = timed[rank + 1] if rank + 1 < len(timed) else len(tokens)
        words.extend(_share(tokens[index:group_end], onsets[index], end_s))
    return words


def _tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of each whitespace-separated word that has a letter or digit."""
    found = []
    for match in re.finditer(r"\S+", text):
        word = match.group().strip(_OUTER_PUNCTUATION)
        if any(ch.isalnum() for ch in word):
            found.append((match.start(), match.end(), word))
    return found


def _token_at(tokens: list[tuple[int, int, str]], offset: int) -> int | None:
    """The word holding character ``offset``, else the first word after it."""
    for index, (_start, end, _word) in enumerate(tokens):
        if offset < end:
            return index
    return None


def _share(group: list[tuple[int, int, str]], start_s: float, end_s: float) -> list[TimedWord]:
    """One timed word, followed by any words without an event of their own."""
    lengths = [len(word) for _s, _e, word in group]
    total = sum(lengths)
    words, at = [], start_s
    for (_s, _e, word), length in zip(group, lengths, strict=True):
        span = (end_s - start_s) * length / total
        words.append(TimedWord(word, round(at, 3), round(at + span, 3)))
        at += span
    return words


def _loud_frames(samples: array.array[int], rate: int) -> list[bool]:
    step = max(1, int(rate * _FRAME_S))
    frames = []
    for begin in range(0, len(samples), step):
        chunk = samples[begin : begin + step]
        rms = math.sqrt(sum(s * s for s in chunk) / len(chunk))
        frames.append(rms > _SILENCE_RMS)
    return frames


def _sound_end(loud: list[bool], start_s: float, limit_s: float) -> float:
    first = int(start_s / _FRAME_S)
    last = min(len(loud), math.ceil(limit_s / _FRAME_S))
    for frame in range(last - 1, first, -1):
        if loud[frame]:
            return round(min(limit_s, (frame + 1) * _FRAME_S), 3)
    return round(limit_s, 3)


def _write_wav(path: Path, synthesis: _Synthesis) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(synthesis.rate)
        out.writeframes(synthesis.samples.tobytes())


def _main() -> None:
    request = json.load(sys.stdin)
    synthesis = _synthesize(request["text"], request["voice"], request["wpm"])
    _write_wav(Path(request["wav"]), synthesis)
    words = word_timings(request["text"], synthesis)
    answer = {
        "duration_s": round(len(synthesis.samples) / synthesis.rate, 3),
        "words": [{"word": w.word, "start_s": w.start_s, "end_s": w.end_s} for w in words],
    }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    try:
        _main()
    except SpeechError as failure:
        print(failure, file=sys.stderr)
        sys.exit(1)
