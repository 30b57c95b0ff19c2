"""Wake-ups for items waiting on a prediction: webhook deliveries push the newest snapshot here."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from services.generator.providers.base import Prediction

_EARLY_KEEP = 1000


class PredictionWatch:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._latest: Prediction | None = None

    def push(self, prediction: Prediction | None) -> None:
        if prediction is not None:
            self._latest = prediction
        self._event.set()

    async def wait(self, timeout_s: float) -> Prediction | None:
        """The pushed snapshot, or None after ``timeout_s`` (or a bare wake-up)."""
        try:
            await asyncio.wait_for(self._event.wait(), max(0.0, timeout_s))
        except TimeoutError:
            return None
        self._event.clear()
        latest, self._latest = self._latest, None
        return latest


class PredictionWatches:
    """Prediction id → watch; updates for an id nobody watches yet are kept briefly (a race at create)."""

    def __init__(self) -> None:
        self._watches: dict[str, PredictionWatch] = {}
        self._early: OrderedDict[str, Prediction] = OrderedDict()

    def open(self, prediction_id: str) -> PredictionWatch:
        watch = self._watches.setdefault(prediction_id, PredictionWatch())
        early = self._early.pop(prediction_id, None)
        if early is not None:
            watch.push(early)
        return watch

    def watching(self, prediction_id: str) -> bool:
        """Whether a runner of this process waits on the prediction."""
        return prediction_id in self._watches

    def close(self, prediction_id: str) -> None:
        self._watches.pop(prediction_id, None)

    def push(self, prediction: Prediction) -> None:
        watch = self._watches.get(prediction.id)
        if watch is not None:
            watch.push(prediction)
            return
        self._early[prediction.id] = prediction
        while len(self._early) > _EARLY_KEEP:
            self._early.popitem(last=False)

    def wake(self, prediction_id: str) -> None:
        watch = self._watches.get(prediction_id)
        if watch is not None:
            watch.push(None)
