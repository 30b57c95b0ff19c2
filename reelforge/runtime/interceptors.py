"""One server interceptor: request ids, one access-log line per call, domain errors → google.rpc.Status."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc.aio import ServicerContext

from reelforge.runtime.errors import DomainError, Internal, InvalidArgument, Unimplemented
from reelforge.runtime.logs import request_id_var

_LOGGER = logging.getLogger(__name__)
REQUEST_ID_HEADER = "x-request-id"

_UnaryHandler = Callable[[Any, ServicerContext[Any, Any]], Awaitable[Any]]
_StreamHandler = Callable[[Any, ServicerContext[Any, Any]], AsyncIterator[Any]]
# What grpc.RpcMethodHandler holds: the stubs type it as a sync callable, but on a grpc.aio
# server it is the servicer's coroutine (unary) or async generator (streaming) method.
_Behaviour = Callable[..., Any]
_Deserializer = Callable[[bytes], Any]


class _Undecodable:
    """Stands in for a request whose bytes are not the method's message.

    gRPC runs the deserializer before any handler and reports its exception as UNKNOWN
    ("Unexpected DecodeError"); decoding to this marker lets the handler refuse the call as the
    client's mistake, INVALID_ARGUMENT, through the same error path as every other refusal.
    """

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def error(self) -> InvalidArgument:
        return InvalidArgument.single("request", f"not a valid {self.type_name} message")


def _tolerant(deserializer: _Deserializer | None) -> _Deserializer | None:
    if deserializer is None:
        return None

    def deserialize(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:  # DecodeError, and whatever a malformed message makes the parser raise
            owner = getattr(deserializer, "__self__", None)
            name = getattr(getattr(owner, "DESCRIPTOR", None), "full_name", "request")
            return _Undecodable(name)

    return deserialize


def _request_id(context: ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and value:
            return str(value)[:128]
    return uuid.uuid4().hex


def _status_for(error: Exception) -> grpc.Status:
    if isinstance(error, DomainError):
        return error.to_status()
    if isinstance(error, NotImplementedError):
        # The generated base servicers raise this for RPCs a servicer does not override.
        return Unimplemented("method not implemented").to_status()
    # Unexpected errors are logged in full here and reported without internals.
    _LOGGER.exception("unhandled error")
    return Internal("internal error").to_status()


class _Call:
    """Per-call bookkeeping shared by the unary and streaming wrappers."""

    def __init__(self, method: str, context: ServicerContext[Any, Any]) -> None:
        self.method = method
        self.context = context
        self.started = time.perf_counter()
        self.token = request_id_var.set(_request_id(context))
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id_var.get()),))

    async def fail(self, error: Exception) -> None:
        status = _status_for(error)
        self.finish(status.code.name)
        await self.context.abort_with_status(status)

    def finish(self, code: str | None = None) -> None:
        if code is None:
            current = self.context.code()
            code = current.name if isinstance(current, grpc.StatusCode) else "OK"
        elapsed_ms = round((time.perf_counter() - self.started) * 1000, 1)
        _LOGGER.info("rpc %s %s", self.method, code, extra={"duration_ms": elapsed_ms})
        request_id_var.reset(self.token)


def _wrap_unary(method: str, inner: _Behaviour) -> _UnaryHandler:
    async def handler(request: Any, context: ServicerContext[Any, Any]) -> Any:
        call = _Call(method, context)
        try:
            if isinstance(request, _Undecodable):
                raise request.error()
            response = await inner(request, context)
        except grpc.aio.AbortError:
            call.finish()
            raise
        except Exception as error:
            await call.fail(error)
            raise  # unreachable: abort_with_status raises
        call.finish()
        return response

    return handler


def _wrap_stream(method: str, inner: _Behaviour) -> _StreamHandler:
    async def handler(request: Any, context: ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        call = _Call(method, context)
        try:
            if isinstance(request, _Undecodable):
                raise request.error()
            async for message in inner(request, context):
                yield message
        except grpc.aio.AbortError:
            call.finish()
            raise
        except Exception as error:
            await call.fail(error)
            raise
        call.finish()

    return handler


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps unary-unary and unary-stream handlers; other kinds (reflection) pass through."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler
