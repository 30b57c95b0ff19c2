"""What a write changes on an item: one typed update per step of an item's run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.v1 import generator_pb2 as pb
from services.generator.records import TERMINAL_ITEM_STATES, ItemRecord, ItemState, TimedWord
from services.generator.rows import item_state_name, outputs_json, to_us, words_json

_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class ItemUpdate:
    """New values for some of an item's fields (None: unchanged). Build one with the
    constructors below rather than by hand."""

    state: ItemState | None = None
    prediction_id: str | None = None
    attempts: int | None = None
    submit_started_at: float | None = None
    deadline_at: float | None = None
    outputs: tuple[ArtifactMeta, ...] | None = None
    words: tuple[TimedWord, ...] | None = None
    actual_cost_micros: int | None = None
    cached: bool | None = None
    error: str | None = None
    # Refuse to touch a finished item: a cancel or a verdict already written stands.
    only_if_active: bool = True

    @classmethod
    def submitting(cls, *, attempts: int, started_at: float, deadline_at: float) -> ItemUpdate:
        """A create is about to be sent (durable first, so a crash leaves a trace to reconcile)."""
        return cls(
            state=pb.ITEM_STATE_SUBMITTING,
            attempts=attempts,
            submit_started_at=started_at,
            deadline_at=deadline_at,
        )

    @classmethod
    def running(cls, prediction_id: str, *, attempts: int | None = None) -> ItemUpdate:
        return cls(state=pb.ITEM_STATE_RUNNING, prediction_id=prediction_id, attempts=attempts)

    @classmethod
    def downloading(cls) -> ItemUpdate:
        return cls(state=pb.ITEM_STATE_DOWNLOADING)

    @classmethod
    def succeeded(
        cls,
        outputs: Sequence[ArtifactMeta],
        *,
        cost_micros: int,
        words: Sequence[TimedWord] = (),
    ) -> ItemUpdate:
        return cls(
            state=pb.ITEM_STATE_SUCCEEDED,
            outputs=tuple(outputs),
            words=tuple(words),
            actual_cost_micros=cost_micros,
        )

    @classmethod
    def served_from_cache(cls, hit: ItemRecord) -> ItemUpdate:
        """An identical earlier item's outputs (and word timings), at no cost."""
        return cls(
            state=pb.ITEM_STATE_SUCCEEDED,
            outputs=tuple(hit.outputs),
            words=tuple(hit.words),
            actual_cost_micros=0,
            cached=True,
        )

    @classmethod
    def failed(cls, error: str) -> ItemUpdate:
        return cls(state=pb.ITEM_STATE_FAILED, error=error)

    @classmethod
    def canceled(cls, error: str) -> ItemUpdate:
        return cls(state=pb.ITEM_STATE_CANCELED, error=error)

    @classmethod
    def requeued(cls) -> ItemUpdate:
        """RetryJob: back to QUEUED as if never started (attempts so far are kept)."""
        return cls(
            state=pb.ITEM_STATE_QUEUED,
            prediction_id="",
            error="",
            submit_started_at=0.0,
            deadline_at=0.0,
            only_if_active=False,
        )

    @classmethod
    def prediction_kept(cls, prediction_id: str) -> ItemUpdate:
        """Keeps on record a prediction created while the item was being canceled."""
        return cls(prediction_id=prediction_id, only_if_active=False)

    def columns(self) -> dict[str, Any]:
        """The changed columns as stored (``updated_us`` is the writer's)."""
        values: dict[str, Any] = {
            "state": None if self.state is None else item_state_name(self.state),
            "prediction_id": self.prediction_id,
            "attempts": self.attempts,
            "submit_started_us": _us(self.submit_started_at),
            "deadline_us": _us(self.deadline_at),
            "outputs": None if self.outputs is None else outputs_json(self.outputs),
            "words": None if self.words is None else words_json(self.words),
            "actual_cost_micros": self.actual_cost_micros,
            "cached": self.cached,
            "error": self.error,
        }
        changed = {key: value for key, value in values.items() if value is not None}
        if self.prediction_id == "":
            changed["prediction_id"] = None  # no prediction is NULL: the column is unique
        return changed

    def changes_job_state(self, before: ItemState) -> bool:
        """Whether the job's derived state may change: an item leaves QUEUED or finishes."""
        if self.state is None:
            return False
        return before == pb.ITEM_STATE_QUEUED or self.state in TERMINAL_ITEM_STATES

    def apply_to(self, item: ItemRecord, updated_at: float) -> None:
        """The caller's record follows a write that landed."""
        item.state = _new(self.state, item.state)
        item.prediction_id = _new(self.prediction_id, item.prediction_id)
        item.attempts = _new(self.attempts, item.attempts)
        item.submit_started_at = _new(self.submit_started_at, item.submit_started_at)
        item.deadline_at = _new(self.deadline_at, item.deadline_at)
        item.outputs = list(_new(self.outputs, item.outputs))
        item.words = list(_new(self.words, item.words))
        item.actual_cost_micros = _new(self.actual_cost_micros, item.actual_cost_micros)
        item.cached = _new(self.cached, item.cached)
        item.error = _new(self.error, item.error)
        item.updated_at = updated_at


def _us(seconds: float | None) -> int | None:
    return None if seconds is None else to_us(seconds)


def _new(value: _T | None, old: _T) -> _T:
    return old if value is None else value
