"""CORS for the origins in CORS_ORIGINS: preflight answers and headers on every response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.errors import error_body

_ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_EXPOSED_HEADERS = (
    "X-Request-Id, Retry-After, ETag, Content-Range, Content-Disposition, Content-Length"
)
_PREFLIGHT_MAX_AGE_S = "600"
ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def _allowed(origin: str, origins: tuple[str, ...]) -> bool:
    return bool(origin) and ("*" in origins or origin in origins)


def make_cors_middleware(origins: tuple[str, ...]) -> Middleware:
    """Preflights are answered before auth and routing (browsers send them without credentials)."""

    @web.middleware
    async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        is_preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if not is_preflight:
            return await handler(request)
        if not _allowed(origin, origins):
            shown = origin[:200] or "(none)"
            body = error_body("PERMISSION_DENIED", f"origin {shown} is not allowed (CORS_ORIGINS)")
            return web.json_response(body, status=403, headers={"Vary": "Origin"})
        requested = request.headers.get("Access-Control-Request-Headers", "")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": _ALLOWED_METHODS,
                "Access-Control-Allow-Headers": requested or "Authorization, Content-Type",
                "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE_S,
            },
        )

    return cors_middleware


def make_cors_headers(origins: tuple[str, ...]) -> ResponseHook:
    """on_response_prepare hook: also reaches streamed (SSE, download) responses."""

    async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin", "")
        if _allowed(origin, origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
            response.headers.add("Vary", "Origin")

    return add_cors_headers
