"""gRPC servicer of the planner service."""

from collections.abc import AsyncIterator
from typing import Any

from grpc.aio import ServicerContext

from reelforge.runtime.errors import Unimplemented
from reelforge.v1 import planner_pb2, planner_pb2_grpc
from services.planner.settings import PlannerSettings

_Context = ServicerContext[Any, Any]


class PlannerServicer(planner_pb2_grpc.PlannerServiceServicer):
    def __init__(self, settings: PlannerSettings) -> None:
        self._settings = settings

    async def Converse(
        self, request: planner_pb2.ConverseRequest, context: _Context
    ) -> AsyncIterator[planner_pb2.ConverseResponse]:
        raise Unimplemented("Converse is not implemented yet")
        yield planner_pb2.ConverseResponse()  # makes this an async generator

    async def ExtractBrief(
        self, request: planner_pb2.ExtractBriefRequest, context: _Context
    ) -> planner_pb2.ExtractBriefResponse:
        raise Unimplemented("ExtractBrief is not implemented yet")

    async def GenerateMoods(
        self, request: planner_pb2.GenerateMoodsRequest, context: _Context
    ) -> planner_pb2.GenerateMoodsResponse:
        raise Unimplemented("GenerateMoods is not implemented yet")

    async def PlanScenes(
        self, request: planner_pb2.PlanScenesRequest, context: _Context
    ) -> planner_pb2.PlanScenesResponse:
        raise Unimplemented("PlanScenes is not implemented yet")
