"""Builds the planner gRPC server: `create_server(settings) -> (host, port)`."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, build_host
from reelforge.v1 import planner_pb2, planner_pb2_grpc
from services.planner.servicer import PlannerServicer
from services.planner.settings import PlannerSettings

SERVICE_NAME = planner_pb2.DESCRIPTOR.services_by_name["PlannerService"].full_name


async def create_server(settings: PlannerSettings) -> tuple[ServiceHost, int]:
    servicer = PlannerServicer(settings)
    host, port = await build_host(
        settings,
        [lambda server: planner_pb2_grpc.add_PlannerServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
    )
    host.add_cleanup(servicer.aclose)
    return host, port
