"""Optional bearer API keys (GATEWAY_API_KEYS), compared in constant time and never logged."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.errors import GatewayError

# Probes, scrapers and signed webhooks have their own trust; the docs page and the web studio
# (/ and its files under /web/) are shells that ask for a key before they call the API.
OPEN_PATHS = frozenset({"/health", "/metrics", "/api/webhooks/replicate", "/docs", "/"})
OPEN_PREFIX = "/web/"


def _key_matches(offered: str, keys: tuple[str, ...]) -> bool:
    # Every key is compared, so the time taken says nothing about which one nearly matched.
    # aiohttp decodes header bytes that are not UTF-8 as surrogates; surrogateescape gives the
    # bytes back instead of raising (a non-ASCII key is simply a wrong key, 401).
    raw = offered.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(raw, key.encode())
    return matched


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def make_auth_middleware(keys: tuple[str, ...]) -> Middleware:
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        open_path = request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIX)
        if keys and not open_path and not _key_matches(_bearer(request), keys):
            raise GatewayError(
                401,
                "missing or invalid API key (Authorization: Bearer <key>)",
                headers={"WWW-Authenticate": 'Bearer realm="reelforge"'},
            )
        return await handler(request)

    return auth_middleware
