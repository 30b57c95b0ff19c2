"""Builds the planner gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, create_host
from reelforge.v1 import planner_pb2
from services.planner.servicer import PlannerServicer
from services.planner.settings import PlannerSettings
from services.planner.wiring import build_planner

SERVICE_NAME = planner_pb2.DESCRIPTOR.services_by_name["PlannerService"].full_name


async def create_server(settings: PlannerSettings) -> tuple[ServiceHost, int]:
    planner = build_planner(settings)
    return await create_host(settings, PlannerServicer(planner), planner.lifecycle)
