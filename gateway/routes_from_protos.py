"""One aiohttp route per `google.api.http` binding, with a generic transcoding handler."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.keys import UPSTREAMS_KEY
from gateway.proto_bindings import RestBinding
from gateway.request_ids import REQUEST_ID
from gateway.sse import stream_response
from gateway.transcoding import request_message, to_json


def _unary_handler(binding: RestBinding) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        message = await request_message(request, binding)
        upstreams = request.app[UPSTREAMS_KEY]
        response = await upstreams.unary(binding.method, message, request[REQUEST_ID])
        return web.json_response(to_json(response))

    return handler


def _streaming_handler(binding: RestBinding) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        message = await request_message(request, binding)
        upstreams = request.app[UPSTREAMS_KEY]
        call = upstreams.stream(binding.method, message, request[REQUEST_ID])
        return await stream_response(request, call)

    return handler


def add_proto_routes(router: web.UrlDispatcher, bindings: Iterable[RestBinding]) -> None:
    for binding in bindings:
        make = _streaming_handler if binding.server_streaming else _unary_handler
        router.add_route(
            binding.verb, binding.aiohttp_path, make(binding), name=binding.operation_id
        )
