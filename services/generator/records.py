"""Rows of the generator's database as typed records, and the item/job state rules.

Records carry states and tiers as the enums' typed values and instants as unix seconds; how
each is stored (state names, integer microseconds, tier numbers) is ``rows.py``'s to convert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from reelforge.runtime.artifacts import ArtifactMeta
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind

ItemState: TypeAlias = pb.ItemState.ValueType
JobState: TypeAlias = pb.JobState.ValueType
Tier: TypeAlias = common_pb2.Tier.ValueType

TERMINAL_ITEM_STATES: frozenset[ItemState] = frozenset(
    {pb.ITEM_STATE_SUCCEEDED, pb.ITEM_STATE_FAILED, pb.ITEM_STATE_CANCELED}
)
TERMINAL_JOB_STATES: frozenset[JobState] = frozenset(
    {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELED}
)
# How far along an item is, for the job's percent.
_ITEM_PROGRESS: dict[ItemState, float] = {
    pb.ITEM_STATE_QUEUED: 0.0,
    pb.ITEM_STATE_SUBMITTING: 10.0,
    pb.ITEM_STATE_RUNNING: 40.0,
    pb.ITEM_STATE_DOWNLOADING: 90.0,
}


@dataclass(frozen=True)
class TimedWord:
    """A spoken word of a voice item and when it sounds in the item's audio (seconds)."""

    word: str
    start_s: float
    end_s: float


@dataclass
class ItemRecord:
    id: str
    job_id: str
    index: int
    kind: Kind
    state: ItemState
    provider: str
    model: str
    spec: dict[str, Any]
    input: dict[str, Any]
    cache_key: str
    estimated_cost_micros: int
    prediction_id: str = ""
    attempts: int = 0
    outputs: list[ArtifactMeta] = field(default_factory=list)
    words: list[TimedWord] = field(default_factory=list)  # voice items: timings in the audio
    error: str = ""
    actual_cost_micros: int = 0
    cached: bool = False
    submit_started_at: float = 0.0  # unix s of the latest create attempt (bounds reconciliation)
    deadline_at: float = 0.0  # unix s; 0 until the first create
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_ITEM_STATES

    @property
    def label(self) -> str:
        """The item's request path, e.g. "clips[2]" or "lines[0]"; music has a single spec."""
        field = self.kind.specs_field
        return f"{field}[{self.index}]" if field else self.kind.value


@dataclass
class JobRecord:
    id: str
    kind: Kind
    state: JobState
    tier: Tier
    aspect_ratio: int
    provider: str
    model: str
    estimated_cost_micros: int
    canceled: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    items: list[ItemRecord] = field(default_factory=list)


def derive_job_state(item_states: list[ItemState], canceled: bool) -> JobState:
    """The job's state from its items: pending, running, or a terminal verdict."""
    if not all(state in TERMINAL_ITEM_STATES for state in item_states):
        if all(state == pb.ITEM_STATE_QUEUED for state in item_states) and not canceled:
            return pb.JOB_STATE_PENDING
        return pb.JOB_STATE_RUNNING
    if canceled or pb.ITEM_STATE_CANCELED in item_states:
        if all(state == pb.ITEM_STATE_SUCCEEDED for state in item_states):
            return pb.JOB_STATE_SUCCEEDED
        return pb.JOB_STATE_CANCELED
    if pb.ITEM_STATE_FAILED in item_states:
        return pb.JOB_STATE_FAILED
    return pb.JOB_STATE_SUCCEEDED


def progress_percent(items: list[ItemRecord]) -> float:
    if not items:
        return 0.0
    total = sum(100.0 if item.terminal else _ITEM_PROGRESS.get(item.state, 0.0) for item in items)
    return round(total / len(items), 1)
