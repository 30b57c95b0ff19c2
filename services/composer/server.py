"""Builds the composer gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, create_host
from reelforge.v1 import composer_pb2
from services.composer.servicer import ComposerServicer
from services.composer.settings import ComposerSettings
from services.composer.wiring import build_composer

SERVICE_NAME = composer_pb2.DESCRIPTOR.services_by_name["ComposerService"].full_name


async def create_server(settings: ComposerSettings) -> tuple[ServiceHost, int]:
    composer = build_composer(settings)
    return await create_host(settings, ComposerServicer(composer), composer.lifecycle)
