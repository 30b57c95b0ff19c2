"""In-process fan-out of state changes to watchers (``Watch*`` RPCs).

Each watcher gets its own bounded queue. A slow watcher never blocks the
publisher: when its queue is full the oldest pending update is dropped, which
is safe because every message is a full snapshot, so the newest one says all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, TypeVar

from reelforge.runtime.tasks import cancel_and_wait

_T = TypeVar("_T")
_QUEUE_SIZE = 64


class Broadcaster(Generic[_T]):
    """Publishes snapshots per key (a job id, a composition id) to any number of subscribers."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[_T]]] = defaultdict(set)

    def publish(self, key: str, message: _T) -> None:
        for queue in self._subscribers.get(key, ()):
            if queue.full():
                queue.get_nowait()  # drop the oldest snapshot; the newer ones supersede it
            queue.put_nowait(message)

    def watchers(self, key: str) -> int:
        return len(self._subscribers.get(key, ()))

    def watched_keys(self) -> list[str]:
        """Every key with at least one subscriber now (a copy: safe to iterate while publishing)."""
        return list(self._subscribers)

    @contextlib.contextmanager
    def subscribe(self, key: str) -> Iterator[AsyncIterator[_T]]:
        """Subscribe before reading the snapshot, so no change between the two is missed."""
        queue: asyncio.Queue[_T] = asyncio.Queue(_QUEUE_SIZE)
        self._subscribers[key].add(queue)
        try:
            yield _drain(queue)
        finally:
            self._subscribers[key].discard(queue)
            if not self._subscribers[key]:
                del self._subscribers[key]


class ReplicaChanges:
    """Brings other replicas' changes (PostgreSQL NOTIFY) to this process's watchers.

    ``on_changed(key)`` re-reads and publishes the key in a background task, only if someone
    here watches it; ``republish_watched()`` does so for every watched key after a LISTEN
    reconnection (changes during the gap were not heard). ``aclose()`` cancels pending re-reads.
    """

    def __init__(
        self, hub: Broadcaster[Any], republish: Callable[[str], Coroutine[Any, Any, None]]
    ) -> None:
        self._hub = hub
        self._republish = republish
        self._pending: set[asyncio.Task[None]] = set()

    def on_changed(self, key: str) -> None:
        if not self._hub.watchers(key):
            return
        task = asyncio.create_task(self._republish(key))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def republish_watched(self) -> None:
        for key in self._hub.watched_keys():
            self.on_changed(key)

    async def aclose(self) -> None:
        await cancel_and_wait(list(self._pending))


async def _drain(queue: asyncio.Queue[_T]) -> AsyncIterator[_T]:
    while True:
        yield await queue.get()
