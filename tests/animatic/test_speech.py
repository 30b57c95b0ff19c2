"""The offline voice-over: real espeak-ng speech, word timings from espeak-ng's own events,
checked against the samples of the WAV it wrote."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import pytest

from services.generator.animatic.speech import SpeechError, speak

_LINE = "Meet Lumen. The bottle that cleans itself. Shop now!"


def _rms(path: Path, start_s: float, end_s: float) -> float:
    with wave.open(str(path)) as audio:
        rate = audio.getframerate()
        audio.setpos(int(start_s * rate))
        frames = audio.readframes(max(1, int((end_s - start_s) * rate)))
    samples = memoryview(frames).cast("h")
    return math.sqrt(sum(s * s for s in samples) / len(samples))


async def test_words_are_timed_where_they_sound(tmp_path: Path) -> None:
    speech = await speak(_LINE, tmp_path / "line.wav")

    assert [w.word for w in speech.words] == [
        "Meet",
        "Lumen",
        "The",
        "bottle",
        "that",
        "cleans",
        "itself",
        "Shop",
        "now",
    ]
    with wave.open(str(speech.wav)) as audio:
        assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
        assert speech.duration_s == pytest.approx(
            audio.getnframes() / audio.getframerate(), abs=0.01
        )
    for word, following in zip(speech.words, speech.words[1:], strict=False):
        assert word.start_s < word.end_s <= following.start_s
    for word in speech.words:
        assert _rms(speech.wav, word.start_s, word.end_s) > 300, word  # speech, not silence
    # The full stop after "Lumen" is a pause: silence between the two words' sounds.
    lumen, the = speech.words[1], speech.words[2]
    assert the.start_s - lumen.end_s > 0.1
    assert _rms(speech.wav, lumen.end_s + 0.02, the.start_s - 0.02) < 100
    assert speech.words[-1].end_s <= speech.duration_s


async def test_a_faster_rate_speaks_the_same_words_in_less_time(tmp_path: Path) -> None:
    slow = await speak(_LINE, tmp_path / "slow.wav", words_per_minute=130)
    fast = await speak(_LINE, tmp_path / "fast.wav", words_per_minute=260)

    assert [w.word for w in fast.words] == [w.word for w in slow.words]
    assert fast.duration_s < 0.7 * slow.duration_s


async def test_an_unknown_voice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="no voice 'xx-nowhere'"):
        await speak("hello", tmp_path / "x.wav", voice="xx-nowhere")


async def test_captions_show_the_words_as_written(tmp_path: Path) -> None:
    """Numbers, symbols and phrases espeak-ng speaks as one entry still give the text's words,
    in order, each with a span (a caption highlights what was written, not what was said)."""
    text = "Déjà vu at 9:30, 100% done — “really”."
    speech = await speak(text, tmp_path / "line.wav")

    assert [w.word for w in speech.words] == ["Déjà", "vu", "at", "9:30", "100%", "done", "really"]
    for word in speech.words:
        assert 0 <= word.start_s < word.end_s <= speech.duration_s
