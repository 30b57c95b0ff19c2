"""An item's verdict from its terminal prediction: outputs into the store, or why it failed."""

from __future__ import annotations

import asyncio

from reelforge.runtime.artifacts import ArtifactMeta
from services.generator import pricing
from services.generator.catalog import Kind
from services.generator.item_updates import ItemUpdate
from services.generator.outputs import OutputError
from services.generator.providers.base import Prediction, PredictionStatus, one_line
from services.generator.records import TimedWord
from services.generator.runner.context import ItemContext, Phase


async def finish(context: ItemContext, prediction: Prediction) -> None:
    """Records the verdict; outputs are downloaded at once (Replicate deletes them in ~1 h)."""
    failure = _failure(prediction)
    if failure is not None:
        await context.fail(failure)
        return
    context.phase = Phase.DOWNLOADING
    # DOWNLOADING is written while the download runs, not before it: a crash before the
    # write leaves RUNNING, which resumes the same way (look the prediction up, download).
    marking = asyncio.create_task(context.update(ItemUpdate.downloading()))
    try:
        outputs = await context.deps.providers.fetcher.ingest(prediction.output)
    except OutputError as error:
        if await marking:
            await context.fail(f"could not store the outputs: {error}")
        return
    except BaseException:
        marking.cancel()  # the queued write still lands in order; nobody waits for it
        raise
    if not await marking:
        return  # canceled meanwhile; stored artifacts are content-addressed and harmless
    if not outputs:
        await context.fail("the provider reported success but returned no output")
        return
    item = context.item
    cost = pricing.actual(
        item.model,
        item.input,
        outputs=len(outputs),
        predict_time_s=prediction.predict_time_s,
        catalog=context.deps.settings.model_catalog,  # with MODEL_CATALOG_PATH's models
    )
    words = await _voice_words(context, prediction, outputs[0]) if item.kind is Kind.VOICE else []
    await context.update(ItemUpdate.succeeded(outputs, cost_micros=cost, words=words))


async def _voice_words(
    context: ItemContext, prediction: Prediction, audio: ArtifactMeta
) -> list[TimedWord]:
    """A voice item's word timings, derived from the provider's sentence timings."""
    # Imported on first use: only voice items need espeak-ng (and the animatic package).
    from services.generator.voice_timings import spoken_words

    item = context.item
    language = str(item.spec.get("language", ""))
    tmp_root = context.deps.providers.store.root / ".tmp"
    return await spoken_words(
        item.input, language, prediction.logs, audio.duration_seconds, tmp_root
    )


def _failure(prediction: Prediction) -> str | None:
    """Why a terminal prediction gives the item nothing to keep; None when it succeeded."""
    if prediction.status is PredictionStatus.FAILED:
        return one_line(prediction.error or f"prediction {prediction.provider_status}")
    if prediction.status is PredictionStatus.CANCELED:
        # Not by request (that path never gets here): Replicate, its dashboard or a
        # Cancel-After deadline ended it. The item failed; RetryJob can run it again.
        reason = f": {prediction.error}" if prediction.error else " (not requested here)"
        return one_line(f"Replicate canceled prediction {prediction.id}{reason}")
    if prediction.data_removed and not prediction.output:
        return (
            f"Replicate already deleted the outputs of prediction {prediction.id} "
            "(it keeps them about an hour); RetryJob runs the item again"
        )
    return None
