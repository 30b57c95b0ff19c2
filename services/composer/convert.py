"""Composition rows as ``reelforge.v1.Composition`` messages."""

from __future__ import annotations

from dataclasses import fields

from google.protobuf import timestamp_pb2

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.runtime.media import Extent
from reelforge.v1 import common_pb2, composer_pb2
from services.composer.repository import OUTPUT_MEDIA, CompositionRow
from services.composer.sidecars import SRT_MIME, VTT_MIME

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
    if row.subtitles_srt_id:
        message.subtitles_srt.CopyFrom(
            _file(row.subtitles_srt_id, SRT_MIME, row.subtitles_srt_size_bytes)
        )
    if row.subtitles_vtt_id:
        message.subtitles_vtt.CopyFrom(
            _file(row.subtitles_vtt_id, VTT_MIME, row.subtitles_vtt_size_bytes)
        )
    return message


def _file(artifact_id: str, mime_type: str, size_bytes: int) -> common_pb2.Artifact:
    return ArtifactMeta(id=artifact_id, mime_type=mime_type, size_bytes=size_bytes).to_proto()


def _output(row: CompositionRow, output_id: str) -> ArtifactMeta:
    extent = {field.name: getattr(row, field.name) for field in fields(Extent)}
    return ArtifactMeta(id=output_id, mime_type=row.output_mime, **extent)
