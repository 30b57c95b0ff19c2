"""gRPC servicer of the planner service: validates, converts and delegates to the Planner."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from grpc.aio import ServicerContext

from reelforge.v1 import common_pb2, planner_pb2, planner_pb2_grpc
from services.planner.budget import Budget
from services.planner.providers.base import ChatRole, ChatTurn
from services.planner.validation import (
    validate_conversation,
    validate_generate_moods,
    validate_plan_scenes,
)
from services.planner.wiring import PlannerService

_Context = ServicerContext[Any, Any]
_ROLES: dict[int, ChatRole] = {
    planner_pb2.ROLE_UNSPECIFIED: "user",
    planner_pb2.ROLE_USER: "user",
    planner_pb2.ROLE_ASSISTANT: "assistant",
    planner_pb2.ROLE_SYSTEM: "system",
}


class PlannerServicer(planner_pb2_grpc.PlannerServiceServicer):
    def __init__(self, planner: PlannerService) -> None:
        self._planner = planner.planner

    async def Converse(
        self, request: planner_pb2.ConverseRequest, context: _Context
    ) -> AsyncIterator[planner_pb2.ConverseResponse]:
        validate_conversation(request.messages)
        budget = self._budget(context)
        async for delta in self._planner.converse(_turns(request.messages), budget):
            yield planner_pb2.ConverseResponse(delta=delta)
        yield planner_pb2.ConverseResponse(done=True)

    async def ExtractBrief(
        self, request: planner_pb2.ExtractBriefRequest, context: _Context
    ) -> planner_pb2.ExtractBriefResponse:
        validate_conversation(request.messages)
        outcome = await self._planner.extract_brief(_turns(request.messages), self._budget(context))
        return planner_pb2.ExtractBriefResponse(
            brief=outcome.brief, missing=outcome.missing, complete=not outcome.missing
        )

    async def GenerateMoods(
        self, request: planner_pb2.GenerateMoodsRequest, context: _Context
    ) -> planner_pb2.GenerateMoodsResponse:
        validate_generate_moods(request)
        outcome = await self._planner.generate_moods(
            request.brief, request.count, self._budget(context)
        )
        return planner_pb2.GenerateMoodsResponse(
            moods=outcome.moods, repairs=outcome.repairs, provider=self._planner.provider.name
        )

    async def PlanScenes(
        self, request: planner_pb2.PlanScenesRequest, context: _Context
    ) -> planner_pb2.PlanScenesResponse:
        validate_plan_scenes(request)
        mood = request.mood if request.HasField("mood") else None
        outcome = await self._planner.plan_scenes(
            request.brief, mood, request.duration_seconds, self._budget(context)
        )
        plan = common_pb2.ScenePlan(
            scenes=outcome.scenes,
            total_duration_seconds=round(sum(s.duration_seconds for s in outcome.scenes), 2),
            mood_id=mood.id if mood else "",
            music_prompt=outcome.music_prompt,
        )
        return planner_pb2.PlanScenesResponse(
            plan=plan,
            repaired=outcome.repaired,
            attempts=outcome.attempts,
            violations=outcome.violations,
            repairs=outcome.repairs,
            provider=self._planner.provider.name,
        )

    def _budget(self, context: _Context) -> Budget:
        """All model calls of this RPC must end within the caller's gRPC deadline."""
        return Budget.for_call(context.time_remaining(), self._planner.settings)


def _turns(messages: Sequence[planner_pb2.ChatMessage]) -> list[ChatTurn]:
    return [ChatTurn(_ROLES.get(m.role, "user"), m.content) for m in messages]
