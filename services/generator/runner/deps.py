"""What every item runner shares, built once by the composition root (``wiring.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from reelforge.runtime.artifacts import ArtifactStore
from services.generator.keyed_locks import KeyedLocks
from services.generator.limits import ConcurrencyLimits, RateLimiter
from services.generator.outputs import OutputFetcher
from services.generator.prediction_watch import PredictionWatches
from services.generator.providers.base import LocalProvider, RemoteProvider
from services.generator.repository import Repository
from services.generator.settings import GeneratorSettings


class LeaseFence(Protocol):
    """This process's leases (``reelforge.runtime.leases.Leases``), as a runner sees them."""

    @property
    def owner(self) -> str:
        """The lease owner id every runner's write is fenced by."""

    def safe_for(self, margin_s: float) -> bool:
        """Whether the leases still hold for ``margin_s`` (checked before each paid create)."""


@dataclass(frozen=True)
class Providers:
    """Where outputs come from and go to."""

    remote: RemoteProvider | None  # None without REPLICATE_API_TOKEN
    local: LocalProvider
    store: ArtifactStore
    fetcher: OutputFetcher  # provider outputs → the store


@dataclass(frozen=True)
class Throttles:
    """What bounds the work in flight."""

    limits: ConcurrencyLimits  # running items, overall and per model
    creates: RateLimiter  # creates per minute
    # Held per model input while a create is sent and stored, or a lost one looked for.
    submissions: KeyedLocks = field(default_factory=KeyedLocks)


@dataclass(frozen=True)
class RunnerDeps:
    settings: GeneratorSettings
    repo: Repository
    providers: Providers
    throttles: Throttles
    watches: PredictionWatches  # webhook deliveries wake the runner waiting on a prediction
    fence: LeaseFence
    notify: Callable[[str], None]  # the job changed: publish a snapshot to watchers
