"""Provider webhooks, passed on raw (signatures cover the exact bytes) to the generator."""

from __future__ import annotations

from aiohttp import web

from gateway.errors import GatewayError
from gateway.keys import UPSTREAMS_KEY
from gateway.request_ids import REQUEST_ID
from gateway.transcoding import to_json
from reelforge.v1 import generator_pb2

_HANDLE_WEBHOOK = generator_pb2.DESCRIPTOR.services_by_name["GeneratorService"].methods_by_name[
    "HandleProviderWebhook"
]


async def replicate_webhook(request: web.Request) -> web.Response:
    """POST /api/webhooks/replicate: the generator verifies and applies it; errors map as usual."""
    body = await request.read()
    headers = {name.lower(): value for name, value in request.headers.items()}
    for name, value in headers.items():
        if not _is_utf8(value):  # protobuf strings are UTF-8: such a header cannot be passed on
            raise GatewayError.bad_request(
                f"header {name} is not valid UTF-8", [(f"headers.{name}", "not valid UTF-8")]
            )
    message = generator_pb2.HandleProviderWebhookRequest(
        provider="replicate", headers=headers, body=body, item_tag=request.query.get("item", "")
    )
    upstreams = request.app[UPSTREAMS_KEY]
    response = await upstreams.unary(_HANDLE_WEBHOOK, message, request[REQUEST_ID])
    return web.json_response(to_json(response))


def _is_utf8(value: str) -> bool:
    """False for a header aiohttp decoded with surrogates (its bytes were not UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
