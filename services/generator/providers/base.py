"""What a provider looks like to the job engine: remote predictions or local rendering."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from services.generator.catalog import Kind
from services.generator.records import TimedWord


class PredictionStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self is not PredictionStatus.RUNNING


@dataclass(frozen=True)
class Prediction:
    """A provider's answer about one prediction, in our terms."""

    id: str
    model: str
    status: PredictionStatus
    provider_status: str  # the provider's own word (e.g. "aborted"), for logs and errors
    output: Any = None
    error: str = ""
    predict_time_s: float | None = None
    created_at: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    webhook: str = ""
    data_removed: bool = False  # the provider deleted its inputs and outputs (Replicate: ~1 h)
    logs: str = ""  # what the model printed (MiniMax speech: its subtitle metadata)


def one_line(text: str, limit: int = 500) -> str:
    """Error texts shown to users are one line (providers' details may hold newlines), bounded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ProviderError(Exception):
    """A provider call that failed; says whether trying again can help.

    ``outcome_unknown`` marks a create whose answer was lost (network error, 5xx,
    timeout): the prediction may exist and must be looked for before any new create.
    ``auth`` marks a refused token (401/403): nothing will work until someone fixes it.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after_s: float | None = None,
        outcome_unknown: bool = False,
        status: int = 0,
    ) -> None:
        super().__init__(one_line(message))
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.outcome_unknown = outcome_unknown
        self.status = status

    @property
    def auth(self) -> bool:
        return self.status in (401, 403)

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


@dataclass(frozen=True)
class CreateRequest:
    model: str
    model_input: dict[str, Any]
    webhook: str  # the item-tagged webhook URL ("" without webhooks)
    cancel_after_s: float | None = None  # asks the provider to end the prediction by then


@dataclass(frozen=True)
class LostCreate:
    """What identifies a prediction whose create answer never arrived."""

    request: CreateRequest
    since: float  # unix s: it was created no earlier than this
    exclude: Collection[str]  # prediction ids other items already hold


class RemoteProvider(Protocol):
    """A hosted API that runs predictions asynchronously (create → poll/webhook → outputs)."""

    name: str

    async def create(self, request: CreateRequest) -> Prediction:
        """Starts a prediction."""
        ...  # fmt: skip

    async def get(self, prediction_id: str) -> Prediction: ...

    async def cancel(self, prediction_id: str) -> Prediction: ...

    async def find_created(self, lost: LostCreate) -> Prediction | None:
        """The prediction a lost create started, if the provider lists it; None if none."""
        ...  # fmt: skip

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Rendered:
    """What a local render made: its files, and for a voice item the timings of its words."""

    files: list[Path]
    words: list[TimedWord] = field(default_factory=list)


class LocalProvider(Protocol):
    """Renders on this machine and finishes inside the item run (no prediction to poll)."""

    name: str

    async def render(self, kind: Kind, model_input: dict[str, Any], workdir: Path) -> Rendered: ...

    async def aclose(self) -> None: ...
