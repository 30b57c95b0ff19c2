"""Word timings derived from sentence timings: MiniMax's subtitle entries read from the logs,
words stretched onto a sentence's span, and the error of that choice measured (README)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from services.generator.animatic.speech import speak
from services.generator.records import TimedWord
from services.generator.voice_timings import Sentence, derive_words, fit, sentences_in_logs

# Ad-like sentences: a comma pause, numbers spoken as words, long and short words.
SENTENCES = [
    "Meet Lumen, the bottle that cleans itself with light.",
    "Your mornings just got easier, and your coffee stays hot for twelve hours.",
    "Shop now and get free shipping on your first order!",
    "Designed in Oslo, built to last, and loved by more than ten thousand hikers.",
]
ENTRIES = [
    {"text": "Hello there.", "time_begin": 120.0, "time_end": 980.5, "text_begin": 0, "text_end": 12},
    {"text": "Buy now!", "time_begin": 1300, "time_end": 2000, "text_begin": 13, "text_end": 21},
]  # fmt: skip


def test_sentences_come_from_the_subtitle_entries_in_the_logs() -> None:
    logs = f"Generating speech [model speech-2.6-turbo]\n[1, 2]\nsubtitles: {json.dumps(ENTRIES)}\n"
    assert sentences_in_logs(logs) == [
        Sentence("Hello there.", 0.12, 0.9805),
        Sentence("Buy now!", 1.3, 2.0),
    ]
    assert sentences_in_logs("Generated speech in 1.9sec") == []
    assert sentences_in_logs('[{"text": "x"}]') == []  # not timed: not MiniMax's entries


def test_fit_moves_and_stretches_words_onto_the_span() -> None:
    words = [TimedWord("Buy", 0.1, 0.3), TimedWord("now", 0.4, 0.5)]
    assert fit(words, (0.1, 0.5), Sentence("Buy now!", 1.3, 2.1)) == [
        TimedWord("Buy", 1.3, 1.7),
        TimedWord("now", 1.9, 2.1),
    ]


async def test_derived_words_fill_each_sentence_span(tmp_path: Path) -> None:
    text = "Hello there. Buy now!"
    logs = f"subtitles: {json.dumps(ENTRIES)}"
    words = await derive_words(text, logs, 2.4, language="en", speed=1.0, workdir=tmp_path)
    assert [w.word for w in words] == ["Hello", "there", "Buy", "now"]
    assert (words[0].start_s, words[1].end_s, words[2].start_s, words[3].end_s) == (
        0.12,
        0.981,
        1.3,
        2.0,
    )
    # Without sentence timings, espeak-ng's timings are scaled to the audio's length.
    alone = await derive_words(text, "", 2.4, language="en", speed=1.0, workdir=tmp_path)
    assert [w.word for w in alone] == ["Hello", "there", "Buy", "now"]
    assert 0 <= alone[0].start_s < alone[-1].end_s <= 2.4


async def _onset_errors_ms(tmp_path: Path, truth_wpm: int, source_wpm: int) -> list[float]:
    """Onset errors of words fitted from one rate's proportions onto another rate's sentences."""
    errors = []
    for index, sentence in enumerate(SENTENCES):
        truth = await speak(sentence, tmp_path / f"t{index}.wav", words_per_minute=truth_wpm)
        source = await speak(sentence, tmp_path / f"s{index}.wav", words_per_minute=source_wpm)
        span = Sentence(sentence, truth.words[0].start_s, truth.words[-1].end_s)
        timed = [TimedWord(w.word, w.start_s, w.end_s) for w in source.words]
        fitted = fit(timed, (source.words[0].start_s, source.words[-1].end_s), span)
        errors += [
            abs(f.start_s - t.start_s) * 1000 for f, t in zip(fitted, truth.words, strict=True)
        ]
    return errors


@pytest.mark.parametrize("source_wpm", [120, 230])
async def test_proportional_split_error_is_measured(tmp_path: Path, source_wpm: int) -> None:
    """The README's numbers: speech at 165 wpm timed from the proportions of speech at 120 and
    230 wpm (mean 20 and 31 ms, max 62 and 86 ms when measured); a split by characters is
    ~105 ms off on average on the same sentences."""
    errors = await _onset_errors_ms(tmp_path, 165, source_wpm)
    print(
        f"165 wpm from {source_wpm} wpm: mean {statistics.mean(errors):.1f} ms, max {max(errors):.1f} ms"
    )
    assert statistics.mean(errors) < 45
    assert max(errors) < 130
