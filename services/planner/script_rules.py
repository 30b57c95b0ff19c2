"""The voice-over script's rules: how many words a scene may say, and the closing line.

A voice line is spoken while its scene is on screen, so its length is bounded by the
scene's duration; the call-to-action scene's line says the brief's call to action.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from reelforge.v1 import common_pb2

# A relaxed, clear ad read is about 140 words a minute (≈ 2.3 words/s); faster reads sound
# rushed, and text-to-speech voices at their default speed land near it. Each scene gets
# floor(rate × its seconds): floors add up to at most floor(rate × the total), so lines
# that fit their scenes always fit the ad as a whole.
WORDS_PER_SECOND = 2.3
# A caption is read at a glance over moving pictures, in about the time of a short scene.
MAX_CAPTION_WORDS = 6
VOICE_OFF = "none"
DEFAULT_CALL_TO_ACTION = "Learn more"
_EPS = 1e-6  # 2.3 × 10 is 22.999… in floating point
_TOKEN = re.compile(r"\S+")


def voice_enabled(brief: common_pb2.CreativeBrief) -> bool:
    """False when the brief says ``voice: none``."""
    return brief.voice.strip().lower() != VOICE_OFF


def word_count(text: str) -> int:
    """Words as a reader counts them: space-separated, with a letter or digit (a lone "—" is none)."""
    return sum(1 for token in _TOKEN.findall(text) if any(c.isalnum() for c in token))


def word_budget(duration_s: float) -> int:
    """The most words a scene of ``duration_s`` seconds may say."""
    if not math.isfinite(duration_s) or duration_s <= 0:
        return 0
    return math.floor(WORDS_PER_SECOND * duration_s + _EPS)


def first_words(text: str, most: int) -> str:
    """``text`` cut after its first ``most`` words (as counted by ``word_count``)."""
    if word_count(text) <= most:
        return text.strip()
    end, seen = 0, 0
    for token in _TOKEN.finditer(text):
        if seen == most:
            break
        if any(c.isalnum() for c in token.group()):
            seen += 1
        end = token.end()
    return text[:end].rstrip(" ,;:—-")


def spoken_call_to_action(brief: common_pb2.CreativeBrief, most_words: int) -> str:
    """The call to action as the closing line must say it: its first words when it cannot all fit."""
    text = " ".join(brief.call_to_action.split())
    return first_words(text if word_count(text) else DEFAULT_CALL_TO_ACTION, most_words)


def says(line: str, phrase: str) -> bool:
    """Whether ``line`` contains ``phrase``'s words in order, ignoring case and punctuation."""
    wanted = _normalised(phrase)
    return not wanted or f" {wanted} " in f" {_normalised(line)} "


def check_script(scenes: Sequence[common_pb2.Scene], brief: common_pb2.CreativeBrief) -> list[str]:
    """The closing line, when written, must say the call to action (word counts: ``check_plan``)."""
    if not scenes or not voice_enabled(brief):
        return []
    closing = scenes[-1]
    phrase = spoken_call_to_action(brief, word_budget(closing.duration_seconds))
    if word_count(closing.voice_line) and not says(closing.voice_line, phrase):
        return [
            f"scene {len(scenes)}'s voice_line must say the call to action "
            f'"{phrase}" (the last scene is the call to action)'
        ]
    return []


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.lower()))
