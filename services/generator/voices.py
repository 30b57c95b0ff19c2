"""Voices and languages of the voice kind: MiniMax's on Replicate, espeak-ng's offline.

A request names a voice id and a language code ("en", "en-US"); each provider reads them its
own way: MiniMax takes any voice id (system or cloned) and a ``language_boost`` name,
espeak-ng one of its installed voices, which are named after languages ("en-us", "fr-fr").
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Mapping

MINIMAX_DEFAULT_VOICE = "Wise_Woman"
OFFLINE_DEFAULT_VOICE = "en-us"
# espeak-ng's rate at speed 1 (its own default is 175; 165 is the offline speaker's default).
OFFLINE_WORDS_PER_MINUTE = 165
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")

# ISO 639 code → MiniMax's `language_boost` value (its published enum).
_LANGUAGE_BOOSTS = {
    "zh": "Chinese", "yue": "Chinese,Yue", "en": "English", "ar": "Arabic", "ru": "Russian",
    "es": "Spanish", "fr": "French", "pt": "Portuguese", "de": "German", "tr": "Turkish",
    "nl": "Dutch", "uk": "Ukrainian", "vi": "Vietnamese", "id": "Indonesian", "ja": "Japanese",
    "it": "Italian", "ko": "Korean", "th": "Thai", "pl": "Polish", "ro": "Romanian",
    "el": "Greek", "cs": "Czech", "fi": "Finnish", "hi": "Hindi", "bg": "Bulgarian",
    "da": "Danish", "he": "Hebrew", "ms": "Malay", "fa": "Persian", "sk": "Slovak",
    "sv": "Swedish", "hr": "Croatian", "fil": "Filipino", "tl": "Filipino", "hu": "Hungarian",
    "no": "Norwegian", "nb": "Norwegian", "sl": "Slovenian", "ca": "Catalan", "nn": "Nynorsk",
    "ta": "Tamil", "af": "Afrikaans",
}  # fmt: skip
KNOWN_LANGUAGES = frozenset(_LANGUAGE_BOOSTS)


def primary_language(language: str) -> str:
    """ "en" of "en-US" (lower case)."""
    return re.split(r"[-_]", language, maxsplit=1)[0].lower()


def language_boost(language: str) -> str:
    """MiniMax's language hint: the named language, or "Automatic" (detect) when none is given."""
    return (
        _LANGUAGE_BOOSTS.get(primary_language(language), "Automatic") if language else "Automatic"
    )


# Language codes espeak-ng names otherwise.
_ESPEAK_LANGUAGES = {"zh": "cmn", "no": "nb"}


@functools.cache
def offline_voices() -> dict[str, str]:
    """espeak-ng's installed voices: each language name ("en-gb") and voice file name ("en")
    in lower case → the name espeak-ng sets it by (its file's); empty if it cannot be asked."""
    try:
        listing = subprocess.run(
            ["espeak-ng", "--voices"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    voices: dict[str, str] = {}
    for row in (line.split() for line in listing.splitlines()[1:]):
        if len(row) >= 5:  # Pty, Language, Age/Gender, VoiceName, File, [Other Languages]
            settable = row[4].rsplit("/", 1)[-1].lower()
            voices.setdefault(row[1].lower(), settable)
            voices.setdefault(settable, settable)
    return voices


def offline_voice(voice: str, language: str, known: Mapping[str, str]) -> str | None:
    """The espeak-ng voice a request asks for: the named one, else its language's; None if none.

    English without a region speaks American English (espeak-ng's "en" is British).
    """
    if voice:
        return known.get(voice.lower())
    if not language:
        return OFFLINE_DEFAULT_VOICE
    tag = language.lower().replace("_", "-")
    primary = primary_language(tag)
    candidates = [OFFLINE_DEFAULT_VOICE] if tag == "en" else [tag, primary]
    candidates.append(_ESPEAK_LANGUAGES.get(primary, primary))
    return next((known[name] for name in candidates if name in known), None)
