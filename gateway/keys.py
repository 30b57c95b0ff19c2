"""Typed keys of the objects the gateway keeps on its application and requests."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.metrics import GatewayMetrics
from gateway.proto_bindings import RestBinding
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams
from reelforge.runtime.artifacts import ArtifactStore

SETTINGS_KEY = web.AppKey("settings", GatewaySettings)
UPSTREAMS_KEY = web.AppKey("upstreams", Upstreams)
BINDINGS_KEY = web.AppKey("bindings", tuple[RestBinding, ...])
METRICS_KEY = web.AppKey("metrics", GatewayMetrics)
ARTIFACTS_KEY = web.AppKey("artifacts", ArtifactStore)
OPENAPI_KEY = web.AppKey("openapi", dict[str, Any])
