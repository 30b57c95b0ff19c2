"""The provider protocol every planner backend implements, and the values it exchanges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from reelforge.v1 import common_pb2
from services.planner.budget import Budget

ChatRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatTurn:
    """One message of the brief conversation."""

    role: ChatRole
    content: str


@dataclass(frozen=True)
class PlanRequest:
    """What a plan is made for: the brief, the chosen mood (if any) and the exact total length."""

    brief: common_pb2.CreativeBrief
    mood: common_pb2.Mood | None
    total_s: float


@dataclass(frozen=True)
class Correction:
    """A rejected answer and why, so the provider can re-ask with the problems stated."""

    answer: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class PlanAnswer:
    """A provider's plan: its raw text, and the scenes, or the reason it could not be read."""

    raw: str
    scenes: list[common_pb2.Scene] | None
    problem: str = ""


class PlannerProvider(Protocol):
    """A planning backend. Errors are reelforge.runtime.errors exceptions; ``budget`` bounds time."""

    name: str

    def converse(self, turns: Sequence[ChatTurn], budget: Budget) -> AsyncIterator[str]:
        """Streams the assistant's next reply in pieces."""
        ...

    async def extract_brief(
        self, turns: Sequence[ChatTurn], budget: Budget
    ) -> common_pb2.CreativeBrief:
        """What the conversation established; unknown fields stay empty."""
        ...

    async def generate_moods(
        self, brief: common_pb2.CreativeBrief, count: int, images_per_mood: int, budget: Budget
    ) -> list[common_pb2.Mood]:
        """``count`` mood directions (normalised afterwards by the caller)."""
        ...

    async def plan_scenes(
        self, request: PlanRequest, corrections: Sequence[Correction], budget: Budget
    ) -> PlanAnswer:
        """One planning attempt; ``corrections`` lists earlier answers and their problems."""
        ...

    async def aclose(self) -> None:
        """Releases connections."""
        ...
