"""Builds the studio gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, build_host
from reelforge.v1 import studio_pb2, studio_pb2_grpc
from services.studio.servicer import StudioServicer
from services.studio.settings import StudioSettings
from services.studio.wiring import build_studio

SERVICE_NAME = studio_pb2.DESCRIPTOR.services_by_name["StudioService"].full_name


async def create_server(settings: StudioSettings) -> tuple[ServiceHost, int]:
    studio = build_studio(settings)
    servicer = StudioServicer(studio.repository, studio.manager, studio.estimator)
    return await build_host(
        settings,
        [lambda server: studio_pb2_grpc.add_StudioServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        studio,
    )
