"""Prometheus metrics of the gateway, in a registry of its own per application."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest


@dataclass(frozen=True)
class GatewayMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    upstream_errors: Counter
    open_streams: Gauge

    @classmethod
    def create(cls) -> GatewayMetrics:
        # A registry per app, so tests creating many apps never collide on metric names.
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "gateway_http_requests",
                "HTTP requests by method, route template and status.",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "gateway_http_request_duration_seconds",
                "Time to the response (to its end for streams), by method and route template.",
                ["method", "route"],
                registry=registry,
            ),
            upstream_errors=Counter(
                "gateway_upstream_errors",
                "Errors answered by the gRPC services, by status code.",
                ["code"],
                registry=registry,
            ),
            open_streams=Gauge(
                "gateway_sse_streams_open",
                "Server-sent event (and NDJSON) streams currently open.",
                registry=registry,
            ),
        )


def route_template(request: web.Request) -> str:
    """The matched route's template (bounded label values), never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


Observe = Callable[[int, float], None]  # (status, seconds)


async def observed(request: web.Request, handler: Handler, observe: Observe) -> web.StreamResponse:
    """Runs ``handler``, then ``observe(status, seconds)`` even when it raised: the status is the
    one the client gets (an HTTPException's own, 500 for any other error)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        observe(status, time.perf_counter() - started)


def make_metrics_middleware(metrics: GatewayMetrics) -> Middleware:
    @web.middleware
    async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        def observe(status: int, seconds: float) -> None:
            route = route_template(request)
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(request.method, route).observe(seconds)

        return await observed(request, handler, observe)

    return metrics_middleware


def make_metrics_handler(metrics: GatewayMetrics) -> Handler:
    async def metrics_handler(request: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics_handler
