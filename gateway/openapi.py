"""The OpenAPI 3.1 document, derived from the same descriptors and bindings as the routes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import Descriptor

from gateway.openapi_schemas import Schema, SchemaCollector, ref
from gateway.proto_bindings import RestBinding
from gateway.sse import EVENT_STREAM, NDJSON
from gateway.uploads import ALLOWED_TYPES
from reelforge.v1 import common_pb2, generator_pb2

_ERROR = "Error"
_ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string", "description": "gRPC status name, e.g. INVALID_ARGUMENT"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {"type": "object", "description": "google.rpc detail with its @type"},
        },
    },
}
_ERROR_RESPONSE = {
    "description": "Error (see gateway/README.md for the status mapping)",
    "content": {"application/json": {"schema": ref(_ERROR)}},
}


def _query_parameters(
    descriptor: Descriptor, skip: tuple[str, ...], schemas: SchemaCollector, prefix: str = ""
) -> list[Schema]:
    """Scalar fields (and those of singular nested messages) become query parameters."""
    params: list[Schema] = []
    for field in descriptor.fields:
        name = f"{prefix}{field.json_name}"
        if f"{prefix}{field.name}" in skip:
            continue
        repeated = field.is_repeated
        if field.message_type is not None:
            if (
                not repeated
                and not prefix
                and not field.message_type.full_name.startswith("google.")
            ):
                params += _query_parameters(field.message_type, skip, schemas, f"{name}.")
            continue
        params.append(
            {"name": name, "in": "query", "required": False, "schema": schemas.field(field)}
        )
    return params


def _operation(binding: RestBinding, schemas: SchemaCollector) -> Schema:
    method = binding.method
    params: list[Schema] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in binding.path_fields
    ]
    operation: Schema = {
        "operationId": binding.operation_id,
        "tags": [method.containing_service.name],
        "summary": f"{method.containing_service.name}.{method.name}",
        "description": f"gRPC `{method.full_name}`.",
    }
    if binding.body:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _body_schema(binding, schemas)}},
        }
    else:
        params += _query_parameters(method.input_type, binding.path_fields, schemas)
    if params:
        operation["parameters"] = params
    operation["responses"] = {"200": _ok_response(binding, schemas), "default": _ERROR_RESPONSE}
    if binding.server_streaming:
        operation["x-server-streaming"] = True
    return operation


def _body_schema(binding: RestBinding, schemas: SchemaCollector) -> Schema:
    input_type = binding.method.input_type
    if binding.body == "*":
        return schemas.message(input_type)
    return schemas.field(input_type.fields_by_name[binding.body])


def _ok_response(binding: RestBinding, schemas: SchemaCollector) -> Schema:
    output = schemas.message(binding.method.output_type)
    if not binding.server_streaming:
        return {"description": "OK", "content": {"application/json": {"schema": output}}}
    return {
        "description": (
            "Server-Sent Events: one `data:` event (with an `id:` sequence number) per message, "
            "`event: error` with the error body on failure, `event: end` at the end. "
            f"With `Accept: {NDJSON}`, one JSON message per line."
        ),
        "content": {
            EVENT_STREAM: {"schema": {"type": "string"}, "x-message-schema": output},
            NDJSON: {"schema": output},
        },
    }


def _file_download(operation_id: str, tag: str, description: str) -> Schema:
    """A GET of stored bytes by id: whole (200), ranged (206) or not modified (304)."""
    binary = {
        "description": "The artifact's bytes",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
    return {
        "operationId": operation_id,
        "tags": [tag],
        "description": description,
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": binary,
            "206": binary,
            "304": {"description": "Not modified"},
            "default": _ERROR_RESPONSE,
        },
    }


def _fixed_paths(schemas: SchemaCollector) -> dict[str, Schema]:
    """The hand-written routes, described by hand."""
    webhook_out = schemas.message(generator_pb2.HandleProviderWebhookResponse.DESCRIPTOR)
    artifact = schemas.message(common_pb2.Artifact.DESCRIPTOR)
    ok_json = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/health": {
            "get": {
                "operationId": "health",
                "tags": ["gateway"],
                "security": [],
                "responses": {"200": ok_json},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["gateway"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/artifacts/{id}": {
            "get": _file_download(
                "getArtifact",
                "artifacts",
                "Supports ETag/If-None-Match (304) and single byte ranges (206, 416).",
            )
        },
        "/api/artifacts": {
            "post": {
                "operationId": "uploadArtifact",
                "tags": ["artifacts"],
                "description": (
                    "Stores a brand file (the body is the file): PNG, JPEG, WebP, SVG, TTF or OTF, "
                    "checked by its bytes; at most UPLOAD_MAX_BYTES. The same bytes give the same id."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        mime: {"schema": {"type": "string", "format": "binary"}}
                        for mime in ALLOWED_TYPES
                    },
                },
                "responses": {
                    "201": {
                        "description": "Stored",
                        "content": {"application/json": {"schema": artifact}},
                    },
                    "default": _ERROR_RESPONSE,
                },
            }
        },
        "/api/composition/download/{id}": {
            "get": _file_download(
                "downloadComposition",
                "ComposerService",
                "The composition's MP4 as an attachment (Range and ETag as for artifacts).",
            )
        },
        "/api/webhooks/replicate": {
            "post": {
                "operationId": "replicateWebhook",
                "tags": ["webhooks"],
                "security": [],
                "description": "Replicate's signed webhook, passed raw to GeneratorService.HandleProviderWebhook.",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": {
                        "description": "Accepted",
                        "content": {"application/json": {"schema": webhook_out}},
                    },
                    "default": _ERROR_RESPONSE,
                },
            }
        },
    }


def build_openapi(bindings: Iterable[RestBinding], security: bool) -> dict[str, Any]:
    schemas = SchemaCollector()
    paths: dict[str, Schema] = _fixed_paths(schemas)
    for binding in bindings:
        paths.setdefault(binding.openapi_path, {})[binding.verb.lower()] = _operation(
            binding, schemas
        )
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "reelforge gateway",
            "version": "1.0.0",
            "description": "REST + SSE face of the reelforge gRPC services, generated from their google.api.http annotations.",
        },
        "paths": paths,
        "components": {"schemas": {_ERROR: _ERROR_SCHEMA, **dict(sorted(schemas.schemas.items()))}},
    }
    if security:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
    return document
