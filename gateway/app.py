"""The gateway's aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway import artifacts, docs, uploads, webhooks
from gateway.auth import make_auth_middleware
from gateway.cors import make_cors_headers, make_cors_middleware
from gateway.errors import error_middleware
from gateway.http_server import handler_args
from gateway.keys import (
    ARTIFACTS_KEY,
    BINDINGS_KEY,
    METRICS_KEY,
    OPENAPI_KEY,
    SETTINGS_KEY,
    UPSTREAMS_KEY,
)
from gateway.metrics import GatewayMetrics, make_metrics_handler, make_metrics_middleware
from gateway.openapi import build_openapi
from gateway.proto_bindings import bindings_from
from gateway.request_ids import add_request_id_header, request_id_middleware
from gateway.routes_from_protos import add_proto_routes
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams
from gateway.web import add_studio_routes
from reelforge.runtime.artifacts import ArtifactStore

__all__ = ["SETTINGS_KEY", "create_app"]


async def health(request: web.Request) -> web.Response:
    """Liveness of the gateway process itself."""
    return web.json_response({"status": "ok"})


async def _upstream_channels(app: web.Application) -> AsyncIterator[None]:
    app[UPSTREAMS_KEY] = Upstreams.open(app[SETTINGS_KEY])
    yield
    await app[UPSTREAMS_KEY].close()


def _add_fixed_routes(router: web.UrlDispatcher, metrics: GatewayMetrics) -> None:
    router.add_get("/health", health)
    router.add_get("/metrics", make_metrics_handler(metrics))
    router.add_get("/openapi.json", docs.openapi_json)
    router.add_get("/docs", docs.docs_page)
    router.add_get("/api/artifacts/{id}", artifacts.get_artifact)
    router.add_post("/api/artifacts", uploads.upload_artifact)
    router.add_get("/api/composition/download/{id}", artifacts.download_composition)
    router.add_post("/api/webhooks/replicate", webhooks.replicate_webhook)


def create_app(settings: GatewaySettings) -> web.Application:
    metrics = GatewayMetrics.create()
    # Outermost first: ids and metrics see the final status; CORS preflights skip auth.
    middlewares = [
        request_id_middleware,
        make_metrics_middleware(metrics),
        make_cors_middleware(settings.allowed_origins),
        error_middleware,
        make_auth_middleware(settings.api_keys),
    ]
    app = web.Application(
        middlewares=middlewares,
        client_max_size=settings.max_body_bytes,
        handler_args=handler_args(settings),
    )
    bindings = bindings_from()
    app[SETTINGS_KEY] = settings
    app[METRICS_KEY] = metrics
    app[BINDINGS_KEY] = bindings
    app[ARTIFACTS_KEY] = ArtifactStore(settings.artifacts_path)
    app[OPENAPI_KEY] = build_openapi(bindings, security=bool(settings.api_keys))
    _add_fixed_routes(app.router, metrics)
    add_proto_routes(app.router, bindings)
    add_studio_routes(app.router)  # the web studio: / and /web/*
    app.on_response_prepare.append(add_request_id_header)
    app.on_response_prepare.append(make_cors_headers(settings.allowed_origins))
    app.cleanup_ctx.append(_upstream_channels)
    return app
