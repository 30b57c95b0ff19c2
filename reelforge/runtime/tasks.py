"""Background asyncio work: a periodic loop that survives its own errors, and stopping tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

_LOGGER = logging.getLogger(__name__)


async def periodic(
    interval_s: float,
    step: Callable[[], Awaitable[Any]],
    *,
    what: str,
    logger: logging.Logger = _LOGGER,
) -> None:
    """Every ``interval_s`` (the first time after one interval), awaits ``step``, until cancelled.

    A failing step is logged (as ``"<what> failed"``) and the loop goes on: background upkeep
    such as lease renewal or pruning must outlive a database hiccup, and the next round retries.
    """
    while True:
        await asyncio.sleep(interval_s)
        try:
            await step()
        except Exception:
            logger.exception("%s failed", what)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancels ``tasks`` and waits until each has ended. What a task raised is collected, not
    raised again: at a stop, every task must end, and each logs its own errors."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
