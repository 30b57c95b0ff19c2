"""SQLite group commit: the writes of many concurrent tasks share one transaction and few round trips.

SQLite has one writer at a time, and through aiosqlite every statement is a round trip
to the database thread that waits for a turn of a busy event loop (~1 ms of CPU each,
far more wall time under load). So the writes queued while a batch runs go together
into the next one, and each kind of write is applied to its part of the batch at once
(see ``item_writes.py``: one SELECT, one ``executemany`` per statement shape, the touched
jobs refreshed together). A batch of 200 item updates costs a handful of round trips
instead of 200+.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

_W = TypeVar("_W")
Begin = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
# Applies writes of one kind in the caller's transaction; answers each, in order (True: it landed).
ApplyBatch = Callable[[AsyncConnection, list[_W]], Awaitable[list[bool]]]


@dataclass
class _Queued(Generic[_W]):
    apply: ApplyBatch[_W]
    write: _W
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(self, begin: Begin) -> None:
        self._begin = begin
        self._queue: list[_Queued[Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, apply: ApplyBatch[_W], write: _W) -> bool:
        """Applies ``write`` in the next batch (with the others of its kind) and says whether it
        landed; raises what applying it alone raised."""
        queued = _Queued(apply, write)
        self._queue.append(queued)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await queued.done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._run(batch)
            except Exception as error:
                if len(batch) > 1:
                    # One bad write (e.g. a prediction id another item owns) must not fail the
                    # others batched with it: apply them one by one, each getting its own answer.
                    for queued in batch:
                        await self._run_alone(queued)
                    continue
                _answer(batch[0], error)
                continue
            for queued, ok in zip(batch, results, strict=True):
                _answer(queued, ok)

    async def _run_alone(self, queued: _Queued[Any]) -> None:
        try:
            (ok,) = await self._run([queued])
        except Exception as error:
            _answer(queued, error)
            return
        _answer(queued, ok)

    async def _run(self, batch: list[_Queued[Any]]) -> list[bool]:
        kinds: dict[ApplyBatch[Any], list[_Queued[Any]]] = {}
        for queued in batch:
            kinds.setdefault(queued.apply, []).append(queued)
        answers: dict[int, bool] = {}
        async with self._begin() as conn:
            for apply, group in kinds.items():
                results = await apply(conn, [queued.write for queued in group])
                answers.update(zip(map(id, group), results, strict=True))
        return [answers[id(queued)] for queued in batch]


def _answer(queued: _Queued[Any], outcome: bool | Exception) -> None:
    if queued.done.done():
        return
    if isinstance(outcome, Exception):
        queued.done.set_exception(outcome)
    else:
        queued.done.set_result(outcome)
