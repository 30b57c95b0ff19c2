"""Server-streaming RPCs as Server-Sent Events (or NDJSON): heartbeats, errors, cancel on disconnect."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

import grpc
from aiohttp import web
from google.protobuf.message import Message

from gateway.errors import to_http_error
from gateway.keys import METRICS_KEY, SETTINGS_KEY
from gateway.transcoding import to_json

_LOGGER = logging.getLogger(__name__)
NDJSON = "application/x-ndjson"
EVENT_STREAM = "text/event-stream"
_DISCONNECT_POLL_S = 1.0  # how soon a vanished client is noticed between messages


class _Format(Protocol):
    content_type: str

    def message(self, seq: int, payload: dict[str, Any]) -> bytes: ...
    def error(self, body: dict[str, Any]) -> bytes: ...
    def heartbeat(self) -> bytes: ...
    def end(self) -> bytes: ...


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


class EventStreamFormat:
    """`id: n` + `data: {json}` per message, `event: error` / `event: end` last, `: heartbeat` idle."""

    content_type = EVENT_STREAM

    def message(self, seq: int, payload: dict[str, Any]) -> bytes:
        return f"id: {seq}\ndata: {_dumps(payload)}\n\n".encode()

    def error(self, body: dict[str, Any]) -> bytes:
        return f"event: error\ndata: {_dumps(body)}\n\n".encode()

    def heartbeat(self) -> bytes:
        return b": heartbeat\n\n"

    def end(self) -> bytes:
        return b"event: end\ndata: {}\n\n"


class NdjsonFormat:
    """One message per line; an error is a last `{"error": {...}}` line; the end is end of body."""

    content_type = NDJSON

    def message(self, seq: int, payload: dict[str, Any]) -> bytes:
        return (_dumps(payload) + "\n").encode()

    def error(self, body: dict[str, Any]) -> bytes:
        return (_dumps({"error": body}) + "\n").encode()

    def heartbeat(self) -> bytes:
        return b""  # a blank line is not valid NDJSON; disconnects are still noticed by polling

    def end(self) -> bytes:
        return b""


def _format_for(request: web.Request) -> _Format:
    accept = request.headers.get("Accept", "")
    return NdjsonFormat() if NDJSON in accept else EventStreamFormat()


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def stream_response(
    request: web.Request, call: grpc.aio.UnaryStreamCall[Any, Any]
) -> web.StreamResponse:
    """Relays the call; an error before the first message is an ordinary HTTP error response."""
    try:
        first = await call.read()
    except BaseException:
        call.cancel()
        raise
    fmt = _format_for(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": fmt.content_type,
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    gauge = request.app[METRICS_KEY].open_streams
    gauge.inc()
    try:
        await response.prepare(request)
        await _relay(request, response, call, fmt, first)
    except ConnectionResetError:
        _LOGGER.info("stream client disconnected")
    finally:
        call.cancel()  # no-op when the stream ended; stops the upstream when the client left
        gauge.dec()
    return response


async def _relay(
    request: web.Request,
    response: web.StreamResponse,
    call: grpc.aio.UnaryStreamCall[Any, Any],
    fmt: _Format,
    message: Message | Any,
) -> None:
    seq = 0
    try:
        while message is not grpc.aio.EOF:
            seq += 1
            await response.write(fmt.message(seq, to_json(message)))
            message = await _next_message(request, response, call, fmt)
            if message is None:
                _LOGGER.info("stream client disconnected after %d messages", seq)
                return
    except ConnectionResetError:
        raise
    except Exception as error:  # headers are sent: the error becomes the stream's last event
        await response.write(fmt.error(to_http_error(request, error).body))
        return
    await response.write(fmt.end())
    await response.write_eof()


async def _next_message(
    request: web.Request,
    response: web.StreamResponse,
    call: grpc.aio.UnaryStreamCall[Any, Any],
    fmt: _Format,
) -> Message | Any | None:
    """The next message or EOF, writing heartbeats while idle; None once the client has gone."""
    heartbeat_s = request.app[SETTINGS_KEY].sse_heartbeat_s
    loop = asyncio.get_running_loop()
    read = asyncio.ensure_future(call.read())
    last_write = loop.time()
    try:
        while True:
            done, _ = await asyncio.wait({read}, timeout=min(heartbeat_s, _DISCONNECT_POLL_S))
            if done:
                return read.result()
            if _client_gone(request):
                return None
            if loop.time() - last_write >= heartbeat_s and (beat := fmt.heartbeat()):
                await response.write(beat)
                last_write = loop.time()
    finally:
        read.cancel()
