"""Runs compositions in the background: start, track, cancel, resume after a crash, drain on stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.runtime.events import Broadcaster
from reelforge.v1 import composer_pb2
from services.composer.convert import to_proto
from services.composer.render_errors import RenderFailed
from services.composer.renderer import RenderContext, RenderResult, render
from services.composer.repository import CompositionRepository, CompositionRow, now_us
from services.composer.tracker import Tracker

_LOGGER = logging.getLogger(__name__)
_TERMINAL = frozenset(
    {
        composer_pb2.COMPOSITION_STATE_COMPLETED,
        composer_pb2.COMPOSITION_STATE_FAILED,
        composer_pb2.COMPOSITION_STATE_CANCELED,
    }
)


@dataclass(frozen=True)
class Snapshot:
    """A composition as published; ``version`` lets a watcher drop anything older than it has seen."""

    version: int
    composition: composer_pb2.Composition


class CompositionManager:
    """Owns the background render tasks of this process."""

    def __init__(
        self,
        repository: CompositionRepository,
        context: RenderContext,
        *,
        work_root: Path,
        max_concurrent: int,
        progress_interval_s: float,
    ) -> None:
        self._repository = repository
        self._context = context
        self._work_root = work_root
        self._slots = asyncio.Semaphore(max_concurrent)
        self._interval_s = progress_interval_s
        self._hub: Broadcaster[Snapshot] = Broadcaster()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._user_canceled: set[str] = set()

    async def submit(self, request: composer_pb2.ComposeRequest) -> CompositionRow:
        """Persists a new composition and starts rendering it in the background."""
        row = await self._repository.create(request)
        self._start(row.id)
        return row

    async def resume_interrupted(self) -> int:
        """Renders again every composition a previous process left unfinished."""
        ids = await self._repository.active_ids()
        for composition_id in ids:
            await self._write(
                composition_id, state="PENDING", percent=0.0, message="resumed after a restart"
            )
            self._start(composition_id)
        if ids:
            _LOGGER.info("resuming %s interrupted compositions", len(ids))
        return len(ids)

    async def cancel(self, composition_id: str) -> CompositionRow:
        """Stops the render (FFmpeg killed, partial files removed) before returning."""
        row = await self._repository.get(composition_id)
        if row.terminal:
            return row
        task = self._tasks.get(composition_id)
        if task is None:
            # Not rendering here (still queued elsewhere or orphaned): only the row changes.
            return await self._finish(composition_id, "CANCELED", message="canceled")
        self._user_canceled.add(composition_id)
        task.cancel()
        await asyncio.wait({task})  # not `await task`: our own cancellation must not reach it
        return await self._repository.get(composition_id)

    async def watch(self, composition_id: str) -> AsyncIterator[composer_pb2.Composition]:
        """The current snapshot, then every newer one, until a terminal state."""
        with self._hub.subscribe(composition_id) as updates:
            row = await self._repository.get(composition_id)
            yield to_proto(row)
            if row.terminal:
                return
            seen = row.version
            async for snapshot in updates:
                if snapshot.version <= seen:
                    continue
                seen = snapshot.version
                yield snapshot.composition
                if snapshot.composition.state in _TERMINAL:
                    return

    async def shutdown(self) -> None:
        """Stops every render without marking it: the next start-up renders it again."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _start(self, composition_id: str) -> None:
        task = asyncio.create_task(self._run(composition_id), name=f"compose-{composition_id}")
        self._tasks[composition_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(composition_id, None))

    async def _run(self, composition_id: str) -> None:
        try:
            # Wait for a render slot; the composition stays PENDING meanwhile.
            async with self._slots:
                result = await self._render(composition_id)
        except asyncio.CancelledError:
            if composition_id not in self._user_canceled:
                raise  # shutting down: leave the row active so it is resumed
            self._user_canceled.discard(composition_id)
            await self._finish(composition_id, "CANCELED", message="canceled")
        except RenderFailed as error:
            await self._finish(composition_id, "FAILED", message="failed", error=error.message)
        except Exception as error:
            _LOGGER.exception("composition %s crashed", composition_id)
            await self._finish(
                composition_id, "FAILED", message="failed", error=f"internal error: {error}"
            )
        else:
            await self._complete(composition_id, result)

    async def _render(self, composition_id: str) -> RenderResult:
        row = await self._repository.get(composition_id)
        request = composer_pb2.ComposeRequest.FromString(row.request)
        tracker = Tracker(lambda **values: self._write(composition_id, **values), self._interval_s)
        try:
            return await render(request, self._context, tracker, self._work_root / composition_id)
        finally:
            await tracker.flush()

    async def _complete(self, composition_id: str, result: RenderResult) -> None:
        info = result.info
        await self._finish(
            composition_id,
            "COMPLETED",
            message="done",
            percent=100.0,
            output_id=result.artifact.id,
            output_mime=result.artifact.mime_type,
            duration_seconds=info.duration_seconds,
            size_bytes=info.size_bytes,
            width=info.width,
            height=info.height,
            video_codec=info.video_codec,
            audio_codec=info.audio_codec,
        )

    async def _finish(self, composition_id: str, state: str, **values: Any) -> CompositionRow:
        return await self._write(composition_id, state=state, completed_us=now_us(), **values)

    async def _write(self, composition_id: str, **values: Any) -> CompositionRow:
        row = await self._repository.update(composition_id, **values)
        self._hub.publish(composition_id, Snapshot(row.version, to_proto(row)))
        return row
