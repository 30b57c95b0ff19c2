"""Waiting for a prediction's terminal status: webhook wake-ups, the polling back-off, the deadline."""

from __future__ import annotations

import contextlib
import logging
import time

from services.generator.backoff import poll_intervals
from services.generator.providers.base import Prediction, ProviderError
from services.generator.runner.context import ItemContext, Phase

_LOGGER = logging.getLogger(__name__)


async def wait_terminal(context: ItemContext, prediction: Prediction) -> Prediction | None:
    """The prediction once terminal; None when the item ended meanwhile (canceled, failed)."""
    context.phase = Phase.WAITING
    settings, item = context.settings, context.item
    intervals = poll_intervals(settings)
    watches = context.deps.watches
    watch = watches.open(prediction.id)
    try:
        while not prediction.status.terminal:
            remaining = item.deadline_at - time.time()
            if remaining <= 0:
                return await _past_deadline(context, prediction)
            # With webhooks a delivery wakes the wait; the poll is only a safety net then.
            pause = settings.webhook_safety_poll_s if settings.webhooks_enabled else next(intervals)
            pushed = await watch.wait(min(pause, remaining))
            if context.cancel_requested:
                await context.cancel_remote(prediction.id)
                return None
            try:
                prediction = pushed or await _poll(context, prediction)
            except ProviderError as error:
                await context.give_up(prediction.id, str(error))
                return None
    finally:
        watches.close(prediction.id)
    return prediction


async def _past_deadline(context: ItemContext, prediction: Prediction) -> Prediction | None:
    """At the deadline: one last look (a finished, paid output is kept), else cancel."""
    with contextlib.suppress(ProviderError):
        latest = await context.remote.get(prediction.id)
        if latest.status.terminal:
            return latest
    await context.cancel_remote(prediction.id)
    await context.fail(context.deadline_text("no result") + "; prediction canceled")
    return None


async def _poll(context: ItemContext, prediction: Prediction) -> Prediction:
    """The latest state; network errors, 429 and 5xx are waited out (the deadline bounds them)."""
    try:
        return await context.remote.get(prediction.id)
    except ProviderError as error:
        if not error.retryable:
            raise
        _LOGGER.warning("polling %s failed (%s); will try again", prediction.id, error)
        return prediction
