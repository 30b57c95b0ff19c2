"""JSON Schemas of proto messages as proto3's canonical JSON mapping writes them."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

Schema = dict[str, Any]
_T = FieldDescriptor
_INT32 = {_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32}
_UINT32 = {_T.TYPE_UINT32, _T.TYPE_FIXED32}
_INT64 = {_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64, _T.TYPE_UINT64, _T.TYPE_FIXED64}
# Well-known types have special JSON forms (google/protobuf/*.proto, "JSON Mapping").
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
    },
}


def ref(full_name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{full_name}"}


class SchemaCollector:
    """Adds each reachable message and enum to `schemas` once, keyed by full proto name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def message(self, descriptor: Descriptor) -> Schema:
        if descriptor.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[descriptor.full_name])
        if descriptor.full_name not in self.schemas:
            self.schemas[descriptor.full_name] = {}  # placeholder: recursive types stop here
            self.schemas[descriptor.full_name] = self._message_schema(descriptor)
        return ref(descriptor.full_name)

    def _message_schema(self, descriptor: Descriptor) -> Schema:
        schema: Schema = {
            "type": "object",
            "properties": {f.json_name: self.field(f) for f in descriptor.fields},
            # Unknown fields are refused with 400, so the schema says so.
            "additionalProperties": False,
        }
        oneofs = {
            o.name: [f.json_name for f in o.fields]
            for o in descriptor.oneofs
            if not (len(o.fields) == 1 and o.name == f"_{o.fields[0].name}")  # proto3 `optional`
        }
        if oneofs:
            schema["x-oneof"] = oneofs
            schema["description"] = "; ".join(
                f"at most one of {', '.join(names)} (oneof {name})"
                for name, names in oneofs.items()
            )
        return schema

    def field(self, field: FieldDescriptor) -> Schema:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self._single(value)}
        single = self._single(field)
        if field.is_repeated:
            return {"type": "array", "items": single}
        return single

    def _single(self, field: FieldDescriptor) -> Schema:
        if field.message_type is not None:
            return self.message(field.message_type)
        if field.enum_type is not None:
            return self.enum(field.enum_type)
        return scalar(field.type)

    def enum(self, descriptor: EnumDescriptor) -> Schema:
        if descriptor.full_name not in self.schemas:
            self.schemas[descriptor.full_name] = {
                "type": "string",
                "enum": [value.name for value in descriptor.values],
            }
        return ref(descriptor.full_name)


def scalar(field_type: int) -> Schema:
    """Scalars: 64-bit integers are decimal strings, bytes are base64, as proto3 JSON has it."""
    if field_type in _INT32:
        return {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
    if field_type in _UINT32:
        return {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
    if field_type in _INT64:
        return {"type": "string", "format": "int64", "pattern": r"^-?[0-9]{1,19}$"}
    if field_type in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return {"type": "number", "format": "double" if field_type == _T.TYPE_DOUBLE else "float"}
    if field_type == _T.TYPE_BOOL:
        return {"type": "boolean"}
    if field_type == _T.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    return {"type": "string"}
