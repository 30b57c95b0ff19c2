"""The estimate and actual cost (micro-USD) of one prediction, from the catalog's prices.

Prices live in the model catalog (``models.toml``; third-party sources, confirm before relying).
Four billing shapes exist: per output image, per second of video by resolution, per GPU-second
of compute (``metrics.predict_time``), and per input character (text-to-speech: MiniMax counts
one token per character). The input is read through the entry's roles, so a model whose fields
are named differently is priced the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.generator.catalog import ModelCatalog, ModelEntry


@dataclass(frozen=True)
class Cost:
    micros: int
    basis: str  # how it was priced, for people reading an estimate


_FREE = Cost(0, "free (offline animatic)")


def _usd(micros: float) -> str:
    return f"${micros / 1e6:.4g}"


def _role(entry: ModelEntry, model_input: Mapping[str, Any], role: str, default: Any) -> Any:
    name = entry.field(role)
    return model_input.get(name, default) if name else default


def _outputs(model_input: Mapping[str, Any]) -> int:
    return max(1, int(model_input.get("num_outputs", 1)))


def _per_second(entry: ModelEntry, model_input: Mapping[str, Any]) -> Cost:
    rates = entry.price.per_second_micros
    seconds = float(_role(entry, model_input, "duration", 0))
    resolution = str(_role(entry, model_input, "resolution", ""))
    if resolution not in rates:
        resolution = next(iter(rates))  # one rate whatever the resolution ("")
    rate = rates[resolution]
    at = f" ({resolution})" if resolution else ""
    return Cost(round(seconds * rate), f"{seconds:g} s × {_usd(rate)}/s{at}")


def _estimate(entry: ModelEntry, model_input: Mapping[str, Any]) -> Cost:
    price = entry.price
    if price.per_char_micros:
        chars = len(str(_role(entry, model_input, "text", "")))
        return Cost(
            chars * price.per_char_micros, f"{chars} chars × {_usd(price.per_char_micros)}/char"
        )
    if price.per_output_micros:
        count = _outputs(model_input)
        return Cost(
            count * price.per_output_micros, f"{count} × {_usd(price.per_output_micros)}/image"
        )
    if price.per_second_micros:
        return _per_second(entry, model_input)
    seconds = float(_role(entry, model_input, "duration", 0))
    gpu_s = price.expected_gpu_s * _outputs(model_input) + price.gpu_s_per_output_second * seconds
    return Cost(
        round(gpu_s * price.per_gpu_second_micros),
        f"~{gpu_s:g} GPU-s × {_usd(price.per_gpu_second_micros)}/s",
    )


def estimate(model: str, model_input: Mapping[str, Any], catalog: ModelCatalog) -> Cost:
    """What one prediction with this (already mapped) input should cost; models outside the
    catalog (the offline animatic's) are free. ``catalog`` is the service's (with
    MODEL_CATALOG_PATH's models), never the bundled one alone: a model added by file would be
    priced 0."""
    entry = catalog.entry(model)
    return _FREE if entry is None else _estimate(entry, model_input)


def actual(
    model: str,
    model_input: Mapping[str, Any],
    *,
    outputs: int,
    predict_time_s: float | None,
    catalog: ModelCatalog,
) -> int:
    """What a finished prediction cost, from the provider's answer (outputs, metrics.predict_time),
    at ``catalog``'s prices (the service's, as for ``estimate``)."""
    entry = catalog.entry(model)
    if entry is None:
        return 0
    price = entry.price
    if price.per_output_micros:
        return outputs * price.per_output_micros
    if price.per_gpu_second_micros and predict_time_s is not None:
        return round(predict_time_s * price.per_gpu_second_micros)
    # Billed on the input (text, requested length), or no compute time reported: the estimate.
    return _estimate(entry, model_input).micros
