"""Builds the planner gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, build_host
from reelforge.v1 import planner_pb2, planner_pb2_grpc
from services.planner.servicer import PlannerServicer
from services.planner.settings import PlannerSettings
from services.planner.wiring import build_planner

SERVICE_NAME = planner_pb2.DESCRIPTOR.services_by_name["PlannerService"].full_name


async def create_server(settings: PlannerSettings) -> tuple[ServiceHost, int]:
    planner = build_planner(settings)
    servicer = PlannerServicer(planner.planner)
    return await build_host(
        settings,
        [lambda server: planner_pb2_grpc.add_PlannerServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        planner,
    )
