"""The render pipelined with the clips (issue 17): as each clip of the clips step lands, the
composer encodes that scene's pieces (``PrepareSegments``), so the Compose after the last clip
mostly joins cached pieces by stream copy instead of encoding the whole ad then.

Each time clips land, the ad's renders (the ones the compose step is about to plan: every
platform × cut-down) are sent as the ComposeRequests the compose step will send, with the
clips not made yet left empty; the composer encodes what the landed clips can make. The
requests must match the Compose's in everything that shapes pixels, so the voice-over (its
words place the captions) is waited for first; the music shapes no pixels and is left out.

Best effort: a refused or failed prepare is logged and costs the Compose only the time of
encoding those pieces itself. Nothing is written to the ad. Before the compose step starts,
the pipeline waits (at most ``FINISH_TIMEOUT_S``) for the prepares under way — the last clip's
pieces, mostly — so the Compose does not encode them a second time alongside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import grpc
from google.protobuf import timestamp_pb2

from reelforge.v1 import common_pb2, generator_pb2, studio_pb2
from services.studio import prompts, renders
from services.studio.children import Children

_LOGGER = logging.getLogger(__name__)
# One PrepareSegments call: the landed clips' pieces of one render, at production size.
PREPARE_TIMEOUT_S = 600.0
# What the compose step waits, at most, for the prepares under way when the last clip lands.
FINISH_TIMEOUT_S = 600.0

VoiceApplier = Callable[[studio_pb2.Ad, generator_pb2.Job], None]


class ClipsAhead:
    """Prepares each landed clip's pieces while the rest generate; feed it the clips job's
    snapshots (``on_snapshot``), then ``finish`` it."""

    def __init__(
        self, children: Children, ad: studio_pb2.Ad, voice_job_id: str, with_voice: VoiceApplier
    ) -> None:
        self._children = children
        self._ad = studio_pb2.Ad()
        self._ad.CopyFrom(ad)
        self._voice_job_id = voice_job_id
        self._with_voice = with_voice
        self._landed: dict[int, common_pb2.Artifact] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    @property
    def landed(self) -> int:
        return len(self._landed)

    def on_snapshot(self, job: generator_pb2.Job) -> None:
        """Notes the clips that landed since the last snapshot."""
        for item in job.items:
            succeeded = item.state == generator_pb2.ITEM_STATE_SUCCEEDED and item.outputs
            if succeeded and item.index not in self._landed:
                self._landed[item.index] = item.outputs[0]
                self._changed.set()

    async def finish(self, wait: bool) -> None:
        """Waits for the prepares under way (``wait``: the clips all landed), else stops them."""
        self._closing = True
        self._changed.set()
        if wait:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), FINISH_TIMEOUT_S)
                return
            except TimeoutError:
                _LOGGER.warning("preparing segments took over %g s; composing", FINISH_TIMEOUT_S)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        try:
            if self._voice_job_id:
                voice = await self._children.wait_job(self._voice_job_id)
                if voice.state != generator_pb2.JOB_STATE_SUCCEEDED:
                    return  # the step fails on it; nothing to prepare for
                self._with_voice(self._ad, voice)
            sent: set[int] = set()
            while True:
                await self._changed.wait()
                self._changed.clear()
                if set(self._landed) != sent:
                    sent = set(self._landed)
                    await self._prepare(sent)
                if self._closing and set(self._landed) == sent:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # best effort: the Compose encodes what is missing
            _LOGGER.warning("preparing segments stopped", exc_info=True)

    async def _prepare(self, landed: set[int]) -> None:
        ad = studio_pb2.Ad()
        ad.CopyFrom(self._ad)
        for index, scene in enumerate(ad.storyboard):
            scene.ClearField("clip")
            if index in landed:
                scene.clip.CopyFrom(self._landed[index])
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        for render in renders.planned(ad, now):
            request = prompts.compose(ad, render)
            if not any(clip.source for clip in request.clips):
                continue  # a cut-down that plays none of the landed scenes
            try:
                done = await self._children.prepare_segments(request, PREPARE_TIMEOUT_S)
            except grpc.aio.AioRpcError as error:
                _LOGGER.warning(
                    "PrepareSegments refused: %s %s", error.code().name, error.details()
                )
                continue
            _LOGGER.info(
                "ad %s, %d of %d clips: %d pieces prepared, %d cached, %d wait %s",
                ad.id,
                len(landed),
                len(ad.storyboard),
                done.encoded,
                done.cached,
                done.waiting,
                done.one_pass_reason,
            )
