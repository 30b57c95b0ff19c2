"""The gateway's aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from gateway.settings import GatewaySettings

SETTINGS_KEY = web.AppKey("settings", GatewaySettings)


async def health(request: web.Request) -> web.Response:
    """Liveness of the gateway process itself."""
    return web.json_response({"status": "ok"})


def create_app(settings: GatewaySettings) -> web.Application:
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app.router.add_get("/health", health)
    return app
