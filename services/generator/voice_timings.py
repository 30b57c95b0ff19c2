"""Word timings for hosted speech, whose provider times sentences only (MiniMax ``subtitle_enable``).

Each sentence the provider timed is spoken again offline with espeak-ng, whose own word events
time its words; those words are then stretched onto the sentence's real span, so every word
keeps its share of the sentence as espeak-ng says it (long words and pauses at commas take
longer) instead of a share by character count. How close that comes is measured in
``tests/generator/test_voice_timings.py`` and written down in the README.

Where MiniMax's subtitle metadata arrives: Replicate publishes the model's output as one audio
URI, so the sentence list (MiniMax's subtitle file: ``text``, ``time_begin``/``time_end`` in
milliseconds) is looked for in the prediction's logs. Without it, the whole line is one span
covering the whole audio, and espeak-ng's timings are scaled to the audio's length.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.generator.animatic.speech import Speech, SpeechError, speak
from services.generator.records import TimedWord
from services.generator.voices import (
    OFFLINE_DEFAULT_VOICE,
    OFFLINE_WORDS_PER_MINUTE,
    offline_voice,
    offline_voices,
)

_LOGGER = logging.getLogger(__name__)
_MIN_WORD_S = 0.001  # a word ends after it starts, however short the span it is fitted into


@dataclass(frozen=True)
class Sentence:
    """A stretch of the line and where it sounds in the real audio (seconds)."""

    text: str
    start_s: float
    end_s: float


def sentences_in_logs(logs: str) -> list[Sentence]:
    """MiniMax's subtitle entries, from the first JSON list of them in ``logs``; [] if none."""
    decoder = json.JSONDecoder()
    for bracket in re.finditer(r"\[", logs):
        try:
            value, _ = decoder.raw_decode(logs, bracket.start())
        except ValueError:
            continue
        if isinstance(value, list) and value and all(_is_entry(entry) for entry in value):
            return [
                Sentence(str(e["text"]), float(e["time_begin"]) / 1000, float(e["time_end"]) / 1000)
                for e in value
            ]
    return []


def _is_entry(entry: object) -> bool:
    return isinstance(entry, dict) and {"text", "time_begin", "time_end"} <= entry.keys()


def fit(
    words: Sequence[TimedWord], source: tuple[float, float], target: Sentence
) -> list[TimedWord]:
    """``words`` timed in ``source`` (seconds), moved and stretched onto ``target``'s span."""
    (low, high), span = source, target.end_s - target.start_s
    scale = span / (high - low) if high > low else 0.0
    fitted = []
    for word in words:
        start = target.start_s + (word.start_s - low) * scale
        end = max(target.start_s + (word.end_s - low) * scale, start + _MIN_WORD_S)
        fitted.append(TimedWord(word.word, round(start, 3), round(end, 3)))
    return fitted


async def derive_words(
    text: str, logs: str, audio_s: float, *, language: str, speed: float, workdir: Path
) -> list[TimedWord]:
    """The line's word timings in the provider's audio (``audio_s`` long), from its sentence
    timings in ``logs`` when it gave them."""
    sentences = sentences_in_logs(logs)
    voice = offline_voice("", language, offline_voices()) or OFFLINE_DEFAULT_VOICE
    rate = round(OFFLINE_WORDS_PER_MINUTE * (speed or 1.0))
    words: list[TimedWord] = []
    for index, sentence in enumerate(sentences or [Sentence(text, 0.0, audio_s)]):
        spoken = await speak(
            sentence.text, workdir / f"s{index}.wav", voice=voice, words_per_minute=rate
        )
        timed = [TimedWord(w.word, w.start_s, w.end_s) for w in spoken.words]
        # A sentence span bounds its speech; without one, the audio's silences scale too.
        words += fit(
            timed, _speech_span(spoken) if sentences else (0.0, spoken.duration_s), sentence
        )
    return words


def _speech_span(speech: Speech) -> tuple[float, float]:
    if not speech.words:
        return 0.0, speech.duration_s
    return speech.words[0].start_s, speech.words[-1].end_s


async def spoken_words(
    model_input: dict[str, object], language: str, logs: str, audio_s: float, tmp_root: Path
) -> list[TimedWord]:
    """Word timings of a finished hosted voice item; [] when espeak-ng cannot derive them (the
    paid audio is kept either way: captions then fall back to the scene's)."""
    speed = model_input.get("speed", 1.0)
    try:
        with tempfile.TemporaryDirectory(dir=tmp_root) as workdir:
            return await derive_words(
                str(model_input["text"]),
                logs,
                audio_s,
                language=language,
                speed=float(speed) if isinstance(speed, int | float) else 1.0,
                workdir=Path(workdir),
            )
    except (SpeechError, OSError) as error:
        _LOGGER.warning("word timings could not be derived: %s", error)
        return []
