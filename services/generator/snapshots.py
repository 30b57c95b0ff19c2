"""Job and item records as the contract's messages (state, percent, costs, error summary).

An item's ``duration_seconds``: a clip's or a track's planned length (what its model was asked
for, read through the service's catalog, so a model added by MODEL_CATALOG_PATH has one too);
a voice line has no planned length, so it is its audio's length once made (0 before); an image
has none.
"""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind, ModelCatalog
from services.generator.job_builder import item_seconds
from services.generator.records import ItemRecord, JobRecord, progress_percent


def _timestamp(unix_s: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(unix_s * 1e9))
    return stamp


def _seconds(item: ItemRecord, catalog: ModelCatalog) -> float:
    if item.kind is Kind.VOICE:
        return item.outputs[0].duration_seconds if item.outputs else 0.0
    return item_seconds(item, catalog)


def item_to_proto(item: ItemRecord, catalog: ModelCatalog) -> pb.JobItem:
    return pb.JobItem(
        id=item.id,
        index=item.index,
        state=item.state,
        provider=item.provider,
        model=item.model,
        prediction_id=item.prediction_id,
        attempts=item.attempts,
        outputs=[meta.to_proto() for meta in item.outputs],
        words=[
            common_pb2.WordTiming(word=w.word, start_seconds=w.start_s, end_seconds=w.end_s)
            for w in item.words
        ],
        error=item.error,
        estimated_cost_micros=item.estimated_cost_micros,
        actual_cost_micros=item.actual_cost_micros,
        cached=item.cached,
        created_at=_timestamp(item.created_at),
        updated_at=_timestamp(item.updated_at),
        duration_seconds=_seconds(item, catalog),
    )


def error_summary(items: list[ItemRecord]) -> str:
    """Which items failed and why, e.g. "clips[2]: Replicate refused the request (422): ..."."""
    failed = [item for item in items if item.state == pb.ITEM_STATE_FAILED]
    if not failed:
        return ""
    details = "; ".join(f"{item.label}: {item.error}" for item in failed)
    return f"{len(failed)} of {len(items)} items failed: {details}"


def job_to_proto(job: JobRecord, catalog: ModelCatalog) -> pb.Job:
    """The job as the contract's message; ``catalog`` is the service's (items' lengths)."""
    items = sorted(job.items, key=lambda item: item.index)
    updated = max([job.updated_at, *(item.updated_at for item in items)])
    return pb.Job(
        id=job.id,
        kind=job.kind.job_kind,
        state=job.state,
        items=[item_to_proto(item, catalog) for item in items],
        percent=progress_percent(items),
        estimated_cost_micros=job.estimated_cost_micros,
        actual_cost_micros=sum(item.actual_cost_micros for item in items),
        tier=job.tier,
        provider=job.provider,
        model=job.model,
        error=error_summary(items),
        created_at=_timestamp(job.created_at),
        updated_at=_timestamp(updated),
    )
