"""One error middleware: gRPC status and gateway errors become JSON `{code, message, details}`."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from aiohttp.typedefs import Handler
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

from gateway.keys import METRICS_KEY

_LOGGER = logging.getLogger(__name__)
_DETAILS_KEY = "grpc-status-details-bin"

HTTP_STATUS_OF: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    # The gateway only cancels a unary call when its HTTP client has gone (and hears no answer), so
    # a CANCELLED that gets here came from the service: it stopped the call while shutting down
    # (e.g. a call that arrived as the drain began). "Unavailable, try again" is the truth of it.
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Errors the gateway raises itself get a stable code name too (never a Python class name).
_CODE_OF_HTTP_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    412: "FAILED_PRECONDITION",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    416: "RANGE_NOT_SATISFIABLE",
}


@dataclass
class GatewayError(Exception):
    """An error found by the gateway itself (bad JSON, wrong content type, bad artifact id)."""

    status: int
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def bad_request(cls, message: str, violations: Sequence[tuple[str, str]] = ()) -> GatewayError:
        """400 with a google.rpc.BadRequest detail shaped exactly as an upstream one."""
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=name, description=text)
                for name, text in violations
            ]
        )
        details = [_detail_json(bad)] if violations else []
        return cls(400, message, details)


@dataclass(frozen=True)
class HttpError:
    """Status, headers and the JSON body of one error response (also sent as an SSE error event)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _detail_json(detail: Any) -> dict[str, Any]:
    packed = status_pb2.Status().details.add()
    packed.Pack(detail)
    return json_format.MessageToDict(packed)


def _rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


def _retry_after(status: status_pb2.Status) -> dict[str, str]:
    retry = error_details_pb2.RetryInfo()
    for detail in status.details:
        if detail.Is(retry.DESCRIPTOR) and detail.Unpack(retry):
            seconds = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
            return {"Retry-After": str(max(0, math.ceil(seconds)))}
    return {}


def from_grpc(error: grpc.aio.AioRpcError) -> HttpError:
    """The HTTP face of an upstream status; unknown codes become a 500 that reveals nothing."""
    code = error.code()
    http_status = HTTP_STATUS_OF.get(code, 500)
    if http_status == 500:
        _LOGGER.error("upstream error %s: %s", code.name, error.details())
        return HttpError(500, error_body("INTERNAL", "internal error"), {})
    rich = _rich_status(error)
    details = [json_format.MessageToDict(d) for d in rich.details] if rich else []
    body = error_body(code.name, error.details() or code.name.lower(), details)
    return HttpError(http_status, body, _retry_after(rich) if rich else {})


def from_gateway(error: GatewayError) -> HttpError:
    code = _CODE_OF_HTTP_STATUS.get(error.status, "INVALID_ARGUMENT")
    return HttpError(error.status, error_body(code, error.message, error.details), error.headers)


def from_http_exception(error: web.HTTPException) -> HttpError:
    code = _CODE_OF_HTTP_STATUS.get(error.status, "INTERNAL" if error.status >= 500 else "UNKNOWN")
    headers = {k: v for k, v in error.headers.items() if k in ("Allow", "Retry-After")}
    return HttpError(error.status, error_body(code, error.reason), headers)


def error_body(code: str, message: str, details: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"code": code, "message": message, "details": list(details)}


def to_http_error(request: web.Request, error: Exception) -> HttpError:
    """Maps any exception; gRPC codes are counted in the metrics on the way."""
    if isinstance(error, grpc.aio.AioRpcError):
        request.app[METRICS_KEY].upstream_errors.labels(error.code().name).inc()
        return from_grpc(error)
    if isinstance(error, GatewayError):
        return from_gateway(error)
    if isinstance(error, web.HTTPException):
        return from_http_exception(error)
    _LOGGER.exception("unhandled error in %s %s", request.method, request.path)
    return HttpError(500, error_body("INTERNAL", "internal error"), {})


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        # Successful "exceptions" (redirects, 304) and already-JSON errors pass through.
        if error.status < 400:
            raise
        http = to_http_error(request, error)
    except Exception as error:
        http = to_http_error(request, error)
    return web.json_response(http.body, status=http.status, headers=http.headers)
