"""Replicate's prediction statuses and errors in our terms (what is terminal, what is retryable)."""

from __future__ import annotations

import re
from typing import Any

from services.generator.providers.base import Prediction, PredictionStatus, ProviderError

# "aborted" (newer API): ended before it started, e.g. its deadline passed in the queue.
_STATUS = {
    "starting": PredictionStatus.RUNNING,
    "processing": PredictionStatus.RUNNING,
    "succeeded": PredictionStatus.SUCCEEDED,
    "failed": PredictionStatus.FAILED,
    "aborted": PredictionStatus.FAILED,
    "canceled": PredictionStatus.CANCELED,
}


def map_status(status: str) -> PredictionStatus:
    """Unknown future statuses count as still running; the deadline bounds the wait."""
    return _STATUS.get(status, PredictionStatus.RUNNING)


def _error_text(data: dict[str, Any]) -> str:
    error = data.get("error")
    if error:
        return str(error.get("detail", error) if isinstance(error, dict) else error)
    if data.get("status") == "aborted":
        return "prediction aborted by Replicate before it started"
    return ""


def _predict_time(data: dict[str, Any]) -> float | None:
    metrics = data.get("metrics") or {}
    value = metrics.get("predict_time") if isinstance(metrics, dict) else None
    return float(value) if isinstance(value, int | float) else None


def prediction_from_json(data: dict[str, Any]) -> Prediction:
    """Our Prediction from a raw prediction object (API answer or webhook body)."""
    status = str(data.get("status", ""))
    return Prediction(
        id=str(data["id"]),
        model=str(data.get("model") or ""),
        status=map_status(status),
        provider_status=status,
        output=data.get("output"),
        error=_error_text(data),
        predict_time_s=_predict_time(data),
        created_at=str(data.get("created_at") or ""),
        input=dict(data.get("input") or {}),
        webhook=str(data.get("webhook") or ""),
        data_removed=data.get("data_removed") is True,
        logs=str(data.get("logs") or ""),
    )


# Replicate's 429 body: "Request was throttled. Your rate limit resets in ~30s."
_RESETS_IN = re.compile(
    r"resets in ~?\s*(\d+(?:\.\d+)?)\s*(s|sec|second|seconds|m|min|minute|minutes)\b", re.I
)


def reset_hint_s(detail: str) -> float | None:
    """Seconds until a rate limit resets, as the 429 body words it (None when it does not say)."""
    match = _RESETS_IN.search(detail)
    if match is None:
        return None
    value = float(match.group(1))
    return value * 60 if match.group(2).lower().startswith("m") else value


def error_from_status(
    status: int, detail: str, retry_after_s: float | None, *, create: bool
) -> ProviderError:
    """429 and 5xx are retryable (a 5xx on create may have created it); other 4xx never are."""
    if status == 429:
        # Retry-After wins; without it, the body's "resets in ~30s" is the best hint there is.
        hint = retry_after_s if retry_after_s is not None else reset_hint_s(detail)
        return ProviderError(
            f"rate limited by Replicate: {detail}",
            retryable=True,
            retry_after_s=hint,
            status=status,
        )
    if status == 401:
        return ProviderError(
            f"Replicate rejected the API token (401: {detail}); it was revoked or is wrong: "
            "set a valid REPLICATE_API_TOKEN",
            retryable=False,
            status=status,
        )
    if status == 403:
        return ProviderError(
            f"Replicate forbids this API token to do that (403: {detail})",
            retryable=False,
            status=status,
        )
    if status >= 500:
        return ProviderError(
            f"Replicate server error {status}: {detail}",
            retryable=True,
            outcome_unknown=create,
            status=status,
        )
    return ProviderError(
        f"Replicate refused the request ({status}): {detail}", retryable=False, status=status
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; dates are rare and ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None
