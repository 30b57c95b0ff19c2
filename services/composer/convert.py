"""Composition rows as ``reelforge.v1.Composition`` messages."""

from __future__ import annotations

from dataclasses import fields

from google.protobuf import timestamp_pb2

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.runtime.media import Extent
from reelforge.v1 import composer_pb2
from services.composer.repository import OUTPUT_MEDIA, CompositionRow

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
        created_at=_timestamp(row.created_us),
        updated_at=_timestamp(row.updated_us),
        **{name: getattr(row, name) for name in OUTPUT_MEDIA},
    )
    if row.completed_us:
        message.completed_at.CopyFrom(_timestamp(row.completed_us))
    if row.output_id:
        message.output.CopyFrom(_output(row, row.output_id).to_proto())
    return message


def _output(row: CompositionRow, output_id: str) -> ArtifactMeta:
    extent = {field.name: getattr(row, field.name) for field in fields(Extent)}
    return ArtifactMeta(id=output_id, mime_type=row.output_mime, **extent)
