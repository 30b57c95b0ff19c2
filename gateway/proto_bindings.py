"""REST bindings read from the `google.api.http` annotations of the services' descriptors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor

from reelforge.v1 import composer_pb2, generator_pb2, planner_pb2, studio_pb2

# Every file whose services the gateway fronts; a new annotated RPC in them gets a route.
SERVICE_FILES: tuple[FileDescriptor, ...] = (
    planner_pb2.DESCRIPTOR,
    generator_pb2.DESCRIPTOR,
    composer_pb2.DESCRIPTOR,
    studio_pb2.DESCRIPTOR,
)
_VERBS = ("get", "put", "post", "delete", "patch")
# `{field}`, `{field.sub}` or `{field=pattern/*}` in a path template.
_VARIABLE = re.compile(r"\{([A-Za-z_][\w.]*)(?:=([^}]*))?\}")


@dataclass(frozen=True)
class RestBinding:
    """One HTTP verb + path template bound to one RPC."""

    verb: str  # upper-case HTTP method
    template: str  # the annotation's path, e.g. "/api/video/status/{job_id}"
    path_fields: tuple[str, ...]  # proto field paths bound by the template's variables
    body: str  # "" (no body), "*" (whole message) or one top-level field
    method: MethodDescriptor
    index: int = 0  # 0 for the main binding, 1.. for additional_bindings

    @property
    def server_streaming(self) -> bool:
        return bool(self.method.server_streaming)

    @property
    def operation_id(self) -> str:
        suffix = f"_{self.index}" if self.index else ""
        return f"{self.method.containing_service.name}_{self.method.name}{suffix}"

    @property
    def aiohttp_path(self) -> str:
        """The template in aiohttp's syntax: dots become `__`, `**` patterns match across slashes."""

        def replace(match: re.Match[str]) -> str:
            name = path_variable(match.group(1))
            pattern = match.group(2) or "*"
            return f"{{{name}:.+}}" if "**" in pattern else f"{{{name}}}"

        return _VARIABLE.sub(replace, self.template)

    @property
    def openapi_path(self) -> str:
        return _VARIABLE.sub(lambda m: f"{{{m.group(1)}}}", self.template)


def path_variable(field_path: str) -> str:
    """The identifier a proto field path has as an aiohttp match_info key."""
    return field_path.replace(".", "__")


def _rule_pattern(rule: http_pb2.HttpRule) -> tuple[str, str] | None:
    kind = rule.WhichOneof("pattern")
    if kind in _VERBS:
        return kind.upper(), str(getattr(rule, kind))
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    return None


def _bindings_of(method: MethodDescriptor) -> Iterator[RestBinding]:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return
    rule = options.Extensions[annotations_pb2.http]
    for index, each in enumerate([rule, *rule.additional_bindings]):
        pattern = _rule_pattern(each)
        if pattern is None:
            continue
        verb, template = pattern
        fields = tuple(m.group(1) for m in _VARIABLE.finditer(template))
        yield RestBinding(verb, template, fields, each.body, method, index)


def bindings_from(files: Iterable[FileDescriptor] = SERVICE_FILES) -> tuple[RestBinding, ...]:
    """Every annotated RPC's bindings, additional_bindings included, in declaration order."""
    return tuple(
        binding
        for file in files
        for service in file.services_by_name.values()
        for method in service.methods
        for binding in _bindings_of(method)
    )
