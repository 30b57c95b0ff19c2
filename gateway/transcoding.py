"""HTTP request → request message, and message → JSON, with proto3's canonical JSON mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, cast

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from multidict import MultiMapping

from gateway.errors import GatewayError
from gateway.proto_bindings import RestBinding, path_variable
from gateway.upstreams import message_class

_JSON_TYPES = ("application/json",)
_FIELD_IN_PARSE_ERROR = re.compile(r"Failed to parse (\w+) field")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


def to_json(message: Message) -> dict[str, Any]:
    """lowerCamelCase names, enums as names, int64 as strings, default-valued fields included."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


async def request_message(request: web.Request, binding: RestBinding) -> Message:
    """Body (per the binding), then query parameters, then path variables, which win."""
    cls = message_class(binding.method.input_type)
    message = cls()
    if binding.body:
        body = await _json_body(request)
        if binding.body != "*":
            body = {binding.body: body}
        _merge(message, body)
    else:
        _merge(message, query_dict(request.query, binding.method.input_type, binding.path_fields))
    path = {field: request.match_info[path_variable(field)] for field in binding.path_fields}
    _merge(message, _nest(path))
    return message


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()  # raises 413 beyond the app's client_max_size
    if not raw.strip():
        return {}  # e.g. POST …/cancel with no body: the path says everything
    if request.content_type not in _JSON_TYPES:
        raise GatewayError(
            415, f"expected Content-Type application/json, got {request.content_type}"
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise GatewayError.bad_request(f"malformed JSON body: {error}") from None
    except RecursionError:  # e.g. 100,000 nested brackets: well under the size limit
        raise GatewayError.bad_request("malformed JSON body: nested too deeply") from None
    if not isinstance(body, dict):
        raise GatewayError.bad_request("the JSON body must be an object")
    return body


def _merge(message: Message, values: Mapping[str, Any]) -> None:
    if not values:
        return
    unknown = unknown_fields(values, cast(Descriptor, message.DESCRIPTOR))
    if unknown:
        violations = [(name, "unknown field") for name in unknown]
        raise GatewayError.bad_request(f"unknown field(s): {', '.join(unknown)}", violations)
    parsed = type(message)()
    try:
        json_format.ParseDict(dict(values), parsed)
    except RecursionError:
        raise GatewayError.bad_request(
            "a value is nested too deeply", [("body", "too deep")]
        ) from None
    except json_format.ParseError as error:
        field = ".".join(_FIELD_IN_PARSE_ERROR.findall(str(error))) or "body"
        reason = str(error).splitlines()[0].rsplit(": ", 1)[-1].rstrip(".")
        raise GatewayError.bad_request(
            f"invalid value for {field}: {reason}", [(field, reason)]
        ) from None
    message.MergeFrom(parsed)


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """A field by its JSON name or its original proto name (both are accepted on input)."""
    for field in descriptor.fields:
        if name in (field.json_name, field.name):
            return field
    return None


def unknown_fields(
    values: Mapping[str, Any], descriptor: Descriptor, prefix: str = ""
) -> list[str]:
    """Paths of keys the message type does not have, e.g. `brief.foo` or `clips[1].bar`."""
    found: list[str] = []
    for key, value in values.items():
        field = _field(descriptor, key)
        if field is None:
            found.append(f"{prefix}{key}")
        elif field.message_type is not None and not _is_opaque(field):
            found.extend(_unknown_in_value(field, value, f"{prefix}{key}"))
    return found


def _is_opaque(field: FieldDescriptor) -> bool:
    """Maps and well-known types are checked by ParseDict itself."""
    message_type = cast(Descriptor, field.message_type)
    return bool(message_type.GetOptions().map_entry) or message_type.full_name.startswith(
        "google.protobuf."
    )


def _unknown_in_value(field: FieldDescriptor, value: Any, path: str) -> list[str]:
    message_type = cast(Descriptor, field.message_type)
    if isinstance(value, dict):
        return unknown_fields(value, message_type, f"{path}.")
    if isinstance(value, list):
        return [
            name
            for index, item in enumerate(value)
            if isinstance(item, dict)
            for name in unknown_fields(item, message_type, f"{path}[{index}].")
        ]
    return []


def query_dict(
    query: MultiMapping[str], descriptor: Descriptor, path_fields: tuple[str, ...]
) -> dict[str, Any]:
    """Query parameters (dotted paths to scalar fields; repeated by repetition) as a JSON dict."""
    values: dict[str, Any] = {}
    for key in dict.fromkeys(query):  # keys in order, once each
        all_values = query.getall(key)
        field = _leaf_field(descriptor, key)
        if field is None:
            raise GatewayError.bad_request(
                f"unknown query parameter: {key}", [(key, "unknown query parameter")]
            )
        if key in path_fields:
            continue
        converted = [_query_scalar(field, key, raw) for raw in all_values]
        values[key] = converted if _is_repeated(field) else converted[-1]
    return _nest(values)


def _leaf_field(descriptor: Descriptor, dotted: str) -> FieldDescriptor | None:
    *parents, leaf = dotted.split(".")
    for name in parents:
        parent = _field(descriptor, name)
        if parent is None or parent.message_type is None or _is_repeated(parent):
            return None
        descriptor = parent.message_type
    field = _field(descriptor, leaf)
    return field if field is not None and field.message_type is None else None


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _query_scalar(field: FieldDescriptor, key: str, raw: str) -> Any:
    """Strings go to ParseDict as they are (it parses numbers and enum names); bools are ours."""
    if field.type != FieldDescriptor.TYPE_BOOL:
        return raw
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise GatewayError.bad_request(
        f"invalid value for {key}: not a boolean", [(key, "not a boolean")]
    )


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """`{"a.b": 1}` → `{"a": {"b": 1}}` (query parameters and path variables use dotted paths)."""
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, leaf = dotted.split(".")
        target = nested
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = value
    return nested
