"""Records ↔ rows: how each field is stored (docs/ARCHITECTURE.md, Storage conventions).

Records carry instants as unix seconds (``*_at``) and states as the contract's enum values; rows
store instants as integer microseconds (``*_us``) and states by name without the enum prefix
(``ITEM_STATE_RUNNING`` → ``"RUNNING"``); specs, inputs, outputs and words as JSON text; no
prediction as NULL (the column is unique). Every conversion is here, and queries that compare
a column with a value convert the value with the same functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind
from services.generator.records import (
    ItemRecord,
    ItemState,
    JobRecord,
    JobState,
    Tier,
    TimedWord,
)

# Fields stored as they are, in a column of the same name (the others are converted below).
_JOB_AS_IS = (
    "id",
    "aspect_ratio",
    "provider",
    "model",
    "estimated_cost_micros",
)
_ITEM_AS_IS = (
    "id",
    "job_id",
    "provider",
    "model",
    "cache_key",
    "attempts",
    "error",
    "estimated_cost_micros",
    "actual_cost_micros",
)
# Instants: the record's ``<event>_at`` (seconds) is stored as ``<event>_us`` (microseconds).
_JOB_INSTANTS = ("created_at", "updated_at")
_ITEM_INSTANTS = ("submit_started_at", "deadline_at", "created_at", "updated_at")


def to_us(seconds: float) -> int:
    """Unix seconds → the stored integer microseconds."""
    return round(seconds * 1_000_000)


def instant_column(field: str) -> str:
    """The column of a record's instant field: ``created_at`` → ``created_us``."""
    return field.removesuffix("_at") + "_us"


def item_state_name(state: ItemState) -> str:
    return pb.ItemState.Name(state).removeprefix("ITEM_STATE_")


def job_state_name(state: JobState) -> str:
    return pb.JobState.Name(state).removeprefix("JOB_STATE_")


def item_state_names(states: Iterable[ItemState]) -> list[str]:
    return [item_state_name(state) for state in states]


def item_state(name: str) -> ItemState:
    return pb.ItemState.Value(f"ITEM_STATE_{name}")


def _instants(record: object, fields: Sequence[str]) -> dict[str, int]:
    return {instant_column(name): to_us(getattr(record, name)) for name in fields}


def _seconds(mapping: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {name: mapping[instant_column(name)] / 1_000_000 for name in fields}


def outputs_json(outputs: Sequence[ArtifactMeta]) -> str:
    return json.dumps([vars(meta) for meta in outputs])


def words_json(words: Sequence[TimedWord]) -> str:
    return json.dumps([[w.word, w.start_s, w.end_s] for w in words])


def _words(text: str | None) -> list[TimedWord]:
    return [TimedWord(word, start, end) for word, start, end in json.loads(text or "[]")]


def job_values(job: JobRecord) -> dict[str, Any]:
    return {
        **{name: getattr(job, name) for name in _JOB_AS_IS},
        **_instants(job, _JOB_INSTANTS),
        "kind": job.kind.value,
        "state": job_state_name(job.state),
        "tier": job.tier,
        "canceled": job.canceled,
    }


def item_values(item: ItemRecord) -> dict[str, Any]:
    return {
        **{name: getattr(item, name) for name in _ITEM_AS_IS},
        **_instants(item, _ITEM_INSTANTS),
        "idx": item.index,
        "kind": item.kind.value,
        "state": item_state_name(item.state),
        "spec": json.dumps(item.spec, sort_keys=True),
        "input": json.dumps(item.input, sort_keys=True),
        "prediction_id": item.prediction_id or None,  # NULL: the column is unique
        "outputs": outputs_json(item.outputs),
        "words": words_json(item.words),
        "cached": item.cached,
    }


def job_from_row(row: Row[Any]) -> JobRecord:
    m = row._mapping
    return JobRecord(
        **{name: m[name] for name in _JOB_AS_IS},
        **_seconds(m, _JOB_INSTANTS),
        kind=Kind(m["kind"]),
        state=pb.JobState.Value(f"JOB_STATE_{m['state']}"),
        tier=Tier(m["tier"]),
        canceled=bool(m["canceled"]),
    )


def item_from_row(row: Row[Any]) -> ItemRecord:
    m = row._mapping
    return ItemRecord(
        **{name: m[name] for name in _ITEM_AS_IS},
        **_seconds(m, _ITEM_INSTANTS),
        index=m["idx"],
        kind=Kind(m["kind"]),
        state=item_state(m["state"]),
        spec=json.loads(m["spec"]),
        input=json.loads(m["input"]),
        prediction_id=m["prediction_id"] or "",
        outputs=[ArtifactMeta(**value) for value in json.loads(m["outputs"] or "[]")],
        words=_words(m["words"]),
        cached=bool(m["cached"]),
    )
