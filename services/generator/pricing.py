"""Pricing table (micro-USD) and the estimate/actual cost of one prediction.

Prices come from shared/reference/replicate.md (third-party sources; confirm before
relying). Four billing shapes exist: per output image, per second of video by
resolution, per GPU-second of compute (``metrics.predict_time``), and per input character
(text-to-speech: MiniMax counts one token per character).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.generator.catalog import ANIMATIC_MODELS, base_model


@dataclass(frozen=True)
class Price:
    per_output_micros: int = 0
    per_second_micros: Mapping[str, int] = field(default_factory=dict)  # by resolution
    per_gpu_second_micros: int = 0
    per_char_micros: int = 0  # of the input text
    # For GPU-second models: expected compute seconds per output (images) or per output second (audio).
    expected_gpu_s: float = 0.0
    gpu_s_per_output_second: float = 0.0


@dataclass(frozen=True)
class Cost:
    micros: int
    basis: str  # how it was priced, for people reading an estimate


_SEEDANCE_LITE = {"480p": 18_000, "720p": 36_000, "1080p": 72_000}
_SEEDANCE_PRO_FAST = {"480p": 15_000, "720p": 25_000, "1080p": 60_000}
_SEEDANCE_PRO = {"480p": 30_000, "720p": 60_000, "1080p": 150_000}
_HAILUO = {"512p": 16_600, "768p": 45_000, "1080p": 80_000}

PRICES: dict[str, Price] = {
    "black-forest-labs/flux-schnell": Price(per_output_micros=3_000),
    "google/nano-banana": Price(per_output_micros=39_000),
    # SDXL on an L40S: ~$0.000975/s; a 9:16 image takes about 8 s of compute.
    "stability-ai/sdxl": Price(per_gpu_second_micros=975, expected_gpu_s=8.0),
    "bytedance/seedance-1-lite": Price(per_second_micros=_SEEDANCE_LITE),
    "bytedance/seedance-1-pro-fast": Price(per_second_micros=_SEEDANCE_PRO_FAST),
    "bytedance/seedance-1-pro": Price(per_second_micros=_SEEDANCE_PRO),
    "minimax/hailuo-02": Price(per_second_micros=_HAILUO),
    # MusicGen is billed by GPU time; A100 80GB ~$0.0014/s, roughly real-time (unconfirmed).
    "meta/musicgen": Price(per_gpu_second_micros=1_400, gpu_s_per_output_second=1.0),
    # $0.06 / $0.10 per 1,000 characters of text; the audio itself is free.
    "minimax/speech-2.6-turbo": Price(per_char_micros=60),
    "minimax/speech-2.6-hd": Price(per_char_micros=100),
}
_FREE = Price()


def price_of(model: str) -> Price:
    if model in ANIMATIC_MODELS.values():
        return _FREE
    return PRICES.get(base_model(model), _FREE)


def _usd(micros: float) -> str:
    return f"${micros / 1e6:.4g}"


def _resolution(model_input: Mapping[str, Any], price: Price) -> str:
    value = str(model_input.get("resolution", "")).lower()
    return value if value in price.per_second_micros else min(price.per_second_micros)


def _outputs(model_input: Mapping[str, Any]) -> int:
    return max(1, int(model_input.get("num_outputs", 1)))


def estimate(model: str, model_input: Mapping[str, Any]) -> Cost:
    """What one prediction with this (already mapped) input should cost."""
    price = price_of(model)
    if price is _FREE:
        return Cost(0, "free (offline animatic)")
    if price.per_char_micros:
        chars = len(str(model_input.get("text", "")))
        return Cost(
            chars * price.per_char_micros, f"{chars} chars × {_usd(price.per_char_micros)}/char"
        )
    if price.per_output_micros:
        count = _outputs(model_input)
        return Cost(
            count * price.per_output_micros, f"{count} × {_usd(price.per_output_micros)}/image"
        )
    if price.per_second_micros:
        seconds = float(model_input.get("duration", 0))
        resolution = _resolution(model_input, price)
        rate = price.per_second_micros[resolution]
        return Cost(round(seconds * rate), f"{seconds:g} s × {_usd(rate)}/s ({resolution})")
    gpu_s = price.expected_gpu_s * _outputs(model_input) + price.gpu_s_per_output_second * float(
        model_input.get("duration", 0)
    )
    return Cost(
        round(gpu_s * price.per_gpu_second_micros),
        f"~{gpu_s:g} GPU-s × {_usd(price.per_gpu_second_micros)}/s",
    )


def actual(
    model: str, model_input: Mapping[str, Any], *, outputs: int, predict_time_s: float | None
) -> int:
    """What a finished prediction cost, from the provider's answer (outputs, metrics.predict_time)."""
    price = price_of(model)
    if price.per_char_micros or price.per_second_micros:
        return estimate(model, model_input).micros  # billed on the input (text, requested length)
    if price.per_output_micros:
        return outputs * price.per_output_micros
    if price.per_gpu_second_micros:
        if predict_time_s is None:
            return estimate(model, model_input).micros
        return round(predict_time_s * price.per_gpu_second_micros)
    return 0
