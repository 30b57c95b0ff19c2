"""Composition rows as ``reelforge.v1.Composition`` messages."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.v1 import composer_pb2
from services.composer.repository import CompositionRow

_PREFIX = "COMPOSITION_STATE_"


def state_name(state: composer_pb2.CompositionState.ValueType) -> str:
    """The column value of a state: "COMPOSING" for COMPOSITION_STATE_COMPOSING."""
    return composer_pb2.CompositionState.Name(state).removeprefix(_PREFIX)


def state_value(name: str) -> composer_pb2.CompositionState.ValueType:
    return composer_pb2.CompositionState.Value(_PREFIX + name)


def _timestamp(micros: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMicroseconds(micros)
    return stamp


def to_proto(row: CompositionRow) -> composer_pb2.Composition:
    message = composer_pb2.Composition(
        id=row.id,
        state=state_value(row.state),
        percent=row.percent,
        message=row.message,
        request=composer_pb2.ComposeRequest.FromString(row.request),
        error=row.error,
        duration_seconds=row.duration_seconds,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        video_codec=row.video_codec,
        audio_codec=row.audio_codec,
        created_at=_timestamp(row.created_us),
        updated_at=_timestamp(row.updated_us),
    )
    if row.completed_us:
        message.completed_at.CopyFrom(_timestamp(row.completed_us))
    if row.output_id:
        artifact = ArtifactMeta(
            id=row.output_id,
            mime_type=row.output_mime,
            size_bytes=row.size_bytes,
            width=row.width,
            height=row.height,
            duration_seconds=row.duration_seconds,
        )
        message.output.CopyFrom(artifact.to_proto())
    return message
