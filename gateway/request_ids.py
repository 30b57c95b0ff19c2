"""Request ids (accepted or issued, passed upstream, echoed back) and the JSON access log."""

from __future__ import annotations

import logging
import re
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.metrics import observed
from reelforge.runtime.logs import request_id_var

_LOGGER = logging.getLogger("gateway.access")
REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("request_id", str)
# A client's id is echoed into logs and headers, so only tame characters are accepted.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _request_id(request: web.Request) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _ACCEPTABLE_ID.match(offered) else uuid.uuid4().hex


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = _request_id(request)
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    try:
        return await observed(request, handler, lambda status, s: _log_access(request, status, s))
    finally:
        request_id_var.reset(token)


def _log_access(request: web.Request, status: int, seconds: float) -> None:
    _LOGGER.info(
        "%s %s %s",
        request.method,
        request.path,
        status,
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "remote": request.remote,
        },
    )


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: also reaches streamed responses, whose headers go out before return."""
    if REQUEST_ID in request:
        response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
