"""The gateway's HTTP server: aiohttp's own parser errors as JSON, and a bound on request heads.

Requests aiohttp cannot parse (a bad Content-Length, a header over 8 KiB, control characters,
TLS sent to the plain port) never reach the application or its error middleware: aiohttp
answers them itself with a text/plain page. A RequestHandler whose ``handle_error`` speaks the
gateway's JSON error shape is installed by ``GatewayRunner``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from gateway.errors import error_body
from gateway.settings import GatewaySettings

_LOGGER = logging.getLogger(__name__)
_CODES = {400: "INVALID_ARGUMENT", 413: "PAYLOAD_TOO_LARGE", 431: "INVALID_ARGUMENT"}
_MAX_REASON_CHARS = 200


def handler_args(settings: GatewaySettings) -> dict[str, Any]:
    """Per-connection options, set on the application so every runner (tests too) gets them.

    aiohttp arms ``keepalive_timeout`` when a connection opens and again after each response,
    and closes the connection if no complete request head has arrived by then: that makes it
    the header-read timeout (aiohttp has no separate one). A slow client that drips header
    lines can hold a connection for at most this long.
    """
    return {"keepalive_timeout": settings.header_timeout_s}


def _reason(exc: BaseException | None, message: str | None) -> str:
    text = message or (str(exc) if exc else "") or "malformed request"
    return " ".join(text.split())[:_MAX_REASON_CHARS]


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler with its error pages replaced by the gateway's JSON."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # the response is under way: nothing can be said
            raise ConnectionError("response already started; cannot send an error")
        if status >= 500:
            self.log_exception("error handling request", exc_info=exc)
            body = error_body("INTERNAL", "internal error")
        else:
            # A client's mistake, and a common one on the open internet: one line, no traceback.
            reason = _reason(exc, message)
            _LOGGER.info("malformed HTTP request (%d): %s", status, reason)
            body = error_body(_CODES.get(status, "INVALID_ARGUMENT"), f"bad HTTP request: {reason}")
        response = web.json_response(body, status=status)
        response.force_close()
        return response


class _JsonErrorServer(Server):
    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=loop,
            **server._kwargs,  # the runner's and application's handler options, unchanged
        )

    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections answer unparseable requests with JSON errors."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        return _JsonErrorServer(server, asyncio.get_running_loop())


async def serve(app: web.Application, settings: GatewaySettings) -> None:
    """Listens until SIGTERM/SIGINT, then drains for GRACE_PERIOD_S and cleans up.

    The signals set an event instead of raising aiohttp's GracefulExit: raised from a signal
    handler, that exception leaves ``asyncio.run`` at once, which then cancels every task,
    in-flight requests included, before the runner's cleanup could drain them.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = GatewayRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=settings.grace_period_s
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        _LOGGER.info("gateway listening on %s:%s", settings.host, settings.port)
        await stop.wait()
        _LOGGER.info("stopping: draining requests for up to %s s", settings.grace_period_s)
    finally:
        await runner.cleanup()  # stop listening, let handlers finish, then cleanup_ctx
