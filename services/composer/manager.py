"""Runs compositions in the background: start, track, cancel, resume after a crash, drain on stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.runtime.errors import redact_paths
from reelforge.runtime.events import Broadcaster, ReplicaChanges
from reelforge.runtime.leases import LeasedTasks, LeaseLost, Leases
from reelforge.runtime.schema import now_us
from reelforge.v1 import composer_pb2
from services.composer.convert import to_proto
from services.composer.render_errors import RenderFailed
from services.composer.renderer import RenderContext, RenderResult, render
from services.composer.repository import OUTPUT_MEDIA, CompositionRepository, CompositionRow
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
    """Owns the background render tasks of this process: the compositions it holds leases on."""

    def __init__(
        self,
        repository: CompositionRepository,
        context: RenderContext,
        *,
        leases: Leases,
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
        self._user_canceled: set[str] = set()
        self._leases = leases
        # Renders of the compositions this process holds; a lost lease stops its render.
        self._renders = LeasedTasks(leases, what="composition", on_claimed=self._resume)
        # Other replicas' changes, re-read for watchers here (wired to the PostgreSQL listener).
        self.replica_changes = ReplicaChanges(self._hub, self._republish)

    async def submit(self, request: composer_pb2.ComposeRequest) -> CompositionRow:
        """Persists a new composition (leased to this process) and starts rendering it; a
        request_id already used returns its composition, rendered once (by whoever leases it)."""
        row, created = await self._repository.create_once(request, self._leases.fresh())
        if created:
            self._start(row.id)
        return row

    async def resume_interrupted(self) -> int:
        """Claims and renders again every unfinished composition nobody holds; keeps claiming
        every TTL/2 (a dead replica's renders, once its lease expired)."""
        return await self._renders.start()

    async def cancel(self, composition_id: str) -> CompositionRow:
        """Stops the render (FFmpeg killed, partial files removed) before returning."""
        row = await self._repository.get(composition_id)
        if row.terminal:
            return row
        task = self._renders.get(composition_id)
        if task is None:
            # Not rendering here (another replica's, or orphaned): only the row changes, and its
            # lease goes, so the replica rendering it stops at its next write or heartbeat.
            return await self._write(
                composition_id,
                fenced=False,
                state="CANCELED",
                message="canceled",
                completed_us=now_us(),
                owner=None,
            )
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
        """Stops every render without marking it and hands its lease back: another replica (or
        the next start-up) renders it again."""
        await self._renders.stop()
        await self.replica_changes.aclose()

    async def _republish(self, composition_id: str) -> None:
        try:
            row = await self._repository.get(composition_id)
        except Exception:
            _LOGGER.exception("re-reading composition %s failed", composition_id)
            return
        self._hub.publish(composition_id, Snapshot(row.version, to_proto(row)))

    async def _resume(self, composition_ids: list[str]) -> None:
        """Claimed compositions (left unfinished by a dead or stopped process) render again here."""
        for composition_id in composition_ids:
            if composition_id in self._renders:
                continue
            try:
                await self._write(
                    composition_id, state="PENDING", percent=0.0, message="resumed after a restart"
                )
            except LeaseLost:
                continue  # claimed and lost at once (a stalled process): the new owner has it
            self._start(composition_id)
        _LOGGER.info("resuming %s interrupted compositions", len(composition_ids))

    def _start(self, composition_id: str) -> None:
        self._renders.run(composition_id, self._run(composition_id))

    async def _run(self, composition_id: str) -> None:
        try:
            await self._run_leased(composition_id)
        except LeaseLost:
            # Another replica holds it now (or a cancel elsewhere released it): write nothing.
            _LOGGER.warning("composition %s: lease lost; another replica has it", composition_id)

    async def _run_leased(self, composition_id: str) -> None:
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
                composition_id,
                "FAILED",
                message="failed",
                error=redact_paths(f"internal error: {error}"),
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
        output = {name: getattr(result.info, name) for name in OUTPUT_MEDIA}
        await self._finish(
            composition_id,
            "COMPLETED",
            message="done",
            percent=100.0,
            output_id=result.artifact.id,
            output_mime=result.artifact.mime_type,
            **output,
            **_subtitles(result),
        )

    async def _finish(self, composition_id: str, state: str, **values: Any) -> CompositionRow:
        return await self._write(composition_id, state=state, completed_us=now_us(), **values)

    async def _write(
        self, composition_id: str, *, fenced: bool = True, **values: Any
    ) -> CompositionRow:
        """Writes the row (only while this process holds its lease, unless not ``fenced``) and
        publishes the snapshot to watchers here; other replicas hear of it by NOTIFY."""
        fence = self._leases.owner if fenced else None
        row = await self._repository.update(composition_id, fence=fence, **values)
        self._hub.publish(composition_id, Snapshot(row.version, to_proto(row)))
        return row


def _subtitles(result: RenderResult) -> dict[str, Any]:
    """The subtitle files' columns (none without spoken words)."""
    values: dict[str, Any] = {}
    for name, artifact in (("srt", result.srt), ("vtt", result.vtt)):
        if artifact is not None:
            values[f"subtitles_{name}_id"] = artifact.id
            values[f"subtitles_{name}_size_bytes"] = artifact.size_bytes
    return values
