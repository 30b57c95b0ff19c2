"""Maps openai client exceptions to reelforge domain errors that name the setting to fix."""

from __future__ import annotations

import logging
import math
import re

import openai

from reelforge.runtime.errors import (
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from services.planner.settings import PlannerSettings

_LOGGER = logging.getLogger(__name__)
# OpenAI, llama-cpp-python, vLLM and llama.cpp word a prompt longer than the model's context so.
_CONTEXT_OVERFLOW = re.compile(
    r"context[ _](length|window|size)|maximum context|exceeds? the (available )?context", re.I
)
_CONTEXT_LIMIT = re.compile(r"(?:context length is|context window of|context size of) (\d+)", re.I)
_MAX_DETAIL_CHARS = 300


def domain_error(
    error: openai.OpenAIError, settings: PlannerSettings, input_field: str = "brief"
) -> DomainError:
    """The error a planner caller sees for a failed OpenAI-compatible call (after client retries).

    ``input_field`` is the request field whose text fills the prompt ("brief" or "messages"),
    named when the prompt does not fit the model's context.
    """
    _LOGGER.warning("openai call failed: %s: %s", type(error).__name__, error)
    if isinstance(error, openai.APITimeoutError):
        return DeadlineExceeded(
            f"the model did not answer within OPENAI_TIMEOUT_S={settings.openai_timeout_s:g} s",
            reason="PROVIDER_TIMEOUT",
        )
    if isinstance(error, openai.APIConnectionError):
        return Unavailable(
            f"cannot reach the OpenAI-compatible server at {settings.openai_base_url or 'api.openai.com'} "
            "(setting OPENAI_BASE_URL)",
            reason="PROVIDER_UNREACHABLE",
        )
    if isinstance(error, openai.APIStatusError):
        if is_context_overflow(error):
            return _context_overflow(error, input_field)
        return _status_error(error, settings)
    return Internal(
        f"unexpected answer from the model server: {one_line(str(error))}", reason="PROVIDER_ERROR"
    )


def is_context_overflow(error: openai.APIStatusError) -> bool:
    """The prompt (plus the completion cap) does not fit the model's context window."""
    if error.status_code not in (400, 413, 422):
        return False
    return error.code == "context_length_exceeded" or bool(_CONTEXT_OVERFLOW.search(error.message))


def _context_overflow(error: openai.APIStatusError, input_field: str) -> InvalidArgument:
    limit = _CONTEXT_LIMIT.search(error.message)
    window = f"{limit.group(1)} tokens" if limit else "its limit"
    return InvalidArgument.single(
        input_field,
        f"too long for the model's context window ({window}); shorten the {input_field} "
        f"or serve the model with a larger context (the server said: {server_text(error)})",
    )


def server_text(error: openai.APIStatusError) -> str:
    """The server's own error message (the client prefixes "Error code: N - ")."""
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return one_line(body["message"])
    return one_line(error.message)


def one_line(text: str) -> str:
    """A server's error text as one line of bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL_CHARS else flat[: _MAX_DETAIL_CHARS - 1] + "…"


def _status_error(error: openai.APIStatusError, settings: PlannerSettings) -> DomainError:
    status, detail = error.status_code, server_text(error)
    if status == 401:
        return Unauthenticated(
            f"the model server rejected the API key (HTTP 401); check the OPENAI_API_KEY setting: {detail}",
            reason="OPENAI_API_KEY_REJECTED",
        )
    if status == 403:
        return PermissionDenied(
            f"the API key may not use this model (HTTP 403); check OPENAI_API_KEY and OPENAI_MODEL: {detail}",
            reason="PROVIDER_PERMISSION_DENIED",
        )
    if status == 429:
        quota = error.code == "insufficient_quota"
        return ResourceExhausted(
            f"the model server is rate limiting us (HTTP 429): {detail}",
            retry_after_s=retry_after_s(error) or settings.openai_default_retry_after_s,
            reason="PROVIDER_QUOTA_EXHAUSTED" if quota else "PROVIDER_RATE_LIMITED",
        )
    if status == 404:
        return FailedPrecondition(
            f"model or endpoint not found (HTTP 404); check OPENAI_MODEL={settings.model} "
            f"and OPENAI_BASE_URL: {detail}",
            reason="PROVIDER_MODEL_NOT_FOUND",
        )
    if status == 400 and error.code == "content_policy_violation":
        return FailedPrecondition(
            f"the model refused the request: {detail}", reason="MODEL_REFUSED"
        )
    if status >= 500:
        return Unavailable(
            f"the model server failed (HTTP {status}) after {settings.openai_max_retries} retries: {detail}",
            reason="PROVIDER_SERVER_ERROR",
        )
    # Our request is fine for OpenAI, so a 4xx here is a server/model/settings mismatch.
    return FailedPrecondition(
        f"the model server rejected the request (HTTP {status}): {detail}; check OPENAI_MODEL, "
        "STRUCTURED_OUTPUT and OPENAI_TOKEN_LIMIT_PARAM",
        reason="PROVIDER_REJECTED_REQUEST",
    )


def retry_after_s(error: openai.APIStatusError) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (numeric forms only)."""
    headers = error.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    return None
