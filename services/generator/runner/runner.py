"""Runs one item: cache → slot → create (id stored before waiting) → wait → download → verdict.

The runner owns its task, so it decides how a stop reaches it (``cancel``, ``abandon``,
``stop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from reelforge.runtime.leases import LeaseLost
from reelforge.runtime.tasks import cancel_and_wait
from reelforge.v1 import generator_pb2 as pb
from services.generator.item_updates import ItemUpdate
from services.generator.outputs import OutputError
from services.generator.providers.base import Prediction
from services.generator.records import ItemRecord
from services.generator.runner.context import ItemContext, Phase
from services.generator.runner.creation import Creation
from services.generator.runner.deps import RunnerDeps
from services.generator.runner.finishing import finish
from services.generator.runner.waiting import wait_terminal

_LOGGER = logging.getLogger(__name__)


class ItemRunner:
    def __init__(self, item: ItemRecord, deps: RunnerDeps) -> None:
        self.item = item
        self._context = ItemContext(item, deps)
        self._creation = Creation(self._context)
        self._task: asyncio.Task[None] | None = None

    @property
    def phase(self) -> Phase:
        return self._context.phase

    def start(self, on_done: Callable[[ItemRunner], None]) -> None:
        """Runs the item in a task of its own; ``on_done(self)`` when it ends, however it ends."""
        self._task = asyncio.create_task(self._run_guarded(), name=f"item-{self.item.id}")
        self._task.add_done_callback(lambda _: on_done(self))

    def cancel(self) -> None:
        """The item was canceled (its verdict is already written) or ended elsewhere: stop
        paying for it. Where nothing is lost by it the task stops at once; otherwise the
        run ends by itself, canceling its prediction at the provider first."""
        self._context.request_cancel()
        if self._task is not None and self.phase.interruptible:
            self._task.cancel()

    def abandon(self) -> None:
        """Another replica holds the item now: stop at once and write nothing."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        """Shutdown: stop at once, leaving the item's state for the next start to resume."""
        if self._task is not None:
            await cancel_and_wait([self._task])

    def adopt(self, prediction: Prediction) -> bool:
        """A webhook tagged with this item brings a prediction while its create is unanswered;
        True when the item takes it (see ``Creation.offer``)."""
        if self.phase is not Phase.SUBMITTING:
            return False
        return self._creation.offer(prediction)

    async def _run_guarded(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise  # shutdown, or a cancel while queued/downloading/rendering: state is already durable
        except LeaseLost:
            # Another replica holds the item now and resumes it (looking its prediction up).
            _LOGGER.warning("item %s: lease lost; another replica runs it", self.item.id)
        except Exception as error:
            # Last resort: a bug must not leave the item running forever.
            _LOGGER.exception("item %s crashed", self.item.id)
            with contextlib.suppress(LeaseLost):
                await self._context.fail(f"internal error: {type(error).__name__}")

    async def _run(self) -> None:
        item, deps = self.item, self._context.deps
        # 1. An identical earlier request already paid for: reuse its outputs at no cost.
        if item.state == pb.ITEM_STATE_QUEUED and await self._serve_from_cache():
            return
        # 2. Wait for a slot under the overall and per-model limits.
        async with deps.throttles.limits.slot(item.model):
            if item.provider == deps.providers.local.name:
                # 3a. Offline: render here and now; there is no prediction to poll.
                await self._render_locally()
                return
            # 3. Resume, reconcile or create the prediction; its id is stored before any wait.
            self._context.phase = Phase.SUBMITTING
            prediction = await self._creation.obtain()
            if prediction is None:
                return
            # 4. Wait for a terminal status: webhook wake-ups, polling back-off, the deadline.
            final = await wait_terminal(self._context, prediction)
            if final is None:
                return
            # 5. Record the verdict; outputs are downloaded at once (Replicate deletes them in ~1 h).
            await finish(self._context, final)

    async def _serve_from_cache(self) -> bool:
        deps = self._context.deps
        hit = await deps.repo.find_cached(self.item.cache_key)
        if hit is None or not all(deps.providers.store.get(meta.id) for meta in hit.outputs):
            return False
        _LOGGER.info("item %s served from the cache of item %s", self.item.id, hit.id)
        return await self._context.update(ItemUpdate.served_from_cache(hit))

    async def _render_locally(self) -> None:
        context, item = self._context, self.item
        providers = context.deps.providers
        context.phase = Phase.LOCAL
        started = ItemUpdate.running(f"animatic-{item.id}", attempts=item.attempts + 1)
        if not await context.update(started):
            return
        with tempfile.TemporaryDirectory(dir=providers.store.root / ".tmp") as workdir:
            try:
                rendered = await providers.local.render(item.kind, item.input, Path(workdir))
                outputs = [await providers.fetcher.store_file(path) for path in rendered.files]
            except (OSError, ValueError, RuntimeError, OutputError) as error:
                await context.fail(f"offline render failed: {error}")
                return
        await context.update(ItemUpdate.succeeded(outputs, cost_micros=0, words=rendered.words))
