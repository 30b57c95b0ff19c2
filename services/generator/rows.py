"""Records ↔ rows: how each field is stored (JSON text, enum numbers, NULL for no prediction)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from reelforge.runtime.artifacts import ArtifactMeta
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
    "created_at",
    "updated_at",
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
    "submit_started_at",
    "deadline_at",
    "created_at",
    "updated_at",
)


def outputs_json(outputs: Sequence[ArtifactMeta]) -> str:
    return json.dumps([vars(meta) for meta in outputs])


def words_json(words: Sequence[TimedWord]) -> str:
    return json.dumps([[w.word, w.start_s, w.end_s] for w in words])


def _words(text: str | None) -> list[TimedWord]:
    return [TimedWord(word, start, end) for word, start, end in json.loads(text or "[]")]


def job_values(job: JobRecord) -> dict[str, Any]:
    return {
        **{name: getattr(job, name) for name in _JOB_AS_IS},
        "kind": job.kind.value,
        "state": job.state,
        "tier": job.tier,
        "canceled": job.canceled,
    }


def item_values(item: ItemRecord) -> dict[str, Any]:
    return {
        **{name: getattr(item, name) for name in _ITEM_AS_IS},
        "idx": item.index,
        "kind": item.kind.value,
        "state": item.state,
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
        kind=Kind(m["kind"]),
        state=JobState(m["state"]),
        tier=Tier(m["tier"]),
        canceled=bool(m["canceled"]),
    )


def item_from_row(row: Row[Any]) -> ItemRecord:
    m = row._mapping
    return ItemRecord(
        **{name: m[name] for name in _ITEM_AS_IS},
        index=m["idx"],
        kind=Kind(m["kind"]),
        state=ItemState(m["state"]),
        spec=json.loads(m["spec"]),
        input=json.loads(m["input"]),
        prediction_id=m["prediction_id"] or "",
        outputs=[ArtifactMeta(**value) for value in json.loads(m["outputs"] or "[]")],
        words=_words(m["words"]),
        cached=bool(m["cached"]),
    )
