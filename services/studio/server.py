"""Builds the studio gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, create_host
from reelforge.v1 import studio_pb2
from services.studio.servicer import StudioServicer
from services.studio.settings import StudioSettings
from services.studio.wiring import build_studio

SERVICE_NAME = studio_pb2.DESCRIPTOR.services_by_name["StudioService"].full_name


async def create_server(settings: StudioSettings) -> tuple[ServiceHost, int]:
    studio = build_studio(settings)
    return await create_host(settings, StudioServicer(studio), studio.lifecycle)
