"""Read coalescing: lookups asked for at the same moment share one query."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class CoalescedLookup(Generic[_K, _V]):
    """``get(key)`` from many tasks at once → one ``fetch(keys)`` call for all of them.

    A job of 32 items starts 32 runners in the same loop turn; each asks for its key,
    and the first call's batch collects every key asked for before the loop runs it.
    Keys asked for while a fetch runs go into the next one.
    """

    def __init__(self, fetch: Callable[[list[_K]], Awaitable[dict[_K, _V]]]) -> None:
        self._fetch = fetch
        self._pending: dict[_K, list[asyncio.Future[_V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: _K) -> _V | None:
        future: asyncio.Future[_V | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                found = await self._fetch(list(batch))
            except Exception as error:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                continue
            for key, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(key))
