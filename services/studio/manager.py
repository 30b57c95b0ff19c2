"""Runs ads in the background: create, act at the gates, cancel, watch, resume after a crash.

Only RUNNING ads are work (leased, like the composer's compositions); an ad at a gate or
finished holds nothing but its row. A user action (ChooseMood, RegenerateScene, ...) that
sets an ad running leases it to the replica that took the call, which runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from reelforge.runtime.errors import Aborted, FailedPrecondition, redact_paths
from reelforge.runtime.events import Broadcaster, ReplicaChanges
from reelforge.runtime.leases import LeasedTasks, LeaseLost, Leases
from reelforge.v1 import generator_pb2, studio_pb2
from services.studio.children import COMPOSITION_TERMINAL, JOB_TERMINAL, Children
from services.studio.pipeline import Mutation, Pipeline, end, enter
from services.studio.repository import AdRepository, AdRow, VersionConflict, state_name

_LOGGER = logging.getLogger(__name__)
_S = studio_pb2
TERMINAL = frozenset({_S.AD_STATE_COMPLETED, _S.AD_STATE_FAILED, _S.AD_STATE_CANCELED})
GATES = frozenset({_S.AD_STEP_CHOOSE_MOOD, _S.AD_STEP_APPROVE_STORYBOARD})
_RELEASED = {"owner": None, "lease_expires_at": 0.0}
_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class Snapshot:
    version: int
    ad: studio_pb2.Ad


def _require_stopped(ad: studio_pb2.Ad) -> None:
    if ad.state not in (_S.AD_STATE_CANCELED, _S.AD_STATE_FAILED):
        raise FailedPrecondition(
            f"ad {ad.id} is {describe_state(ad)}; ResumeAd needs it CANCELED or FAILED",
            reason="AD_STATE",
        )


def describe_state(ad: studio_pb2.Ad) -> str:
    """e.g. "AWAITING_INPUT at step APPROVE_STORYBOARD", for FAILED_PRECONDITION messages."""
    step = _S.AdStep.Name(ad.step).removeprefix("AD_STEP_")
    return f"{state_name(ad.state)} at step {step}"


class AdManager:
    """Owns the pipeline tasks of this process: the ads it holds leases on."""

    def __init__(self, repository: AdRepository, children: Children, leases: Leases) -> None:
        self._repository = repository
        self._children = children
        self._leases = leases
        self._pipeline = Pipeline(children, self)
        self._hub: Broadcaster[Snapshot] = Broadcaster()
        # Runs of the ads this process holds; a lost lease stops its run.
        self._runs = LeasedTasks(leases, what="ad", on_claimed=self._resume)
        self._canceling: set[str] = set()
        # Other replicas' changes, re-read for watchers here (wired to the PostgreSQL listener).
        self.replica_changes = ReplicaChanges(self._hub, self._republish)

    async def create(self, ad: studio_pb2.Ad) -> studio_pb2.Ad:
        """Persists a new ad leased to this process and starts it (or returns the ad already
        made for its request id)."""
        row, created = await self._repository.create(ad, self._leases.fresh())
        if created:
            self._start(row.id)
        return row.ad()

    async def get(self, ad_id: str) -> studio_pb2.Ad:
        return (await self._repository.get(ad_id)).ad()

    async def act(self, ad_id: str, action: Mutation) -> studio_pb2.Ad:
        """Applies a user's change (``action`` raises when the ad's state does not allow it);
        an ad it sets running is leased to this process and started here."""
        for _ in range(_WRITE_ATTEMPTS):
            row = await self._repository.get(ad_id)
            ad = row.ad()
            action(ad)
            running = ad.state == _S.AD_STATE_RUNNING
            lease = self._leases.fresh() if running else _RELEASED
            try:
                row = await self._repository.replace(ad, expected_version=row.version, lease=lease)
            except VersionConflict:
                continue
            self._publish(row)
            if running:
                self._start(ad_id)
            return row.ad()
        raise Aborted(f"ad {ad_id} kept changing while it was being updated; try again")

    async def cancel(self, ad_id: str) -> studio_pb2.Ad:
        """Stops the ad's run here (if it runs here), marks it CANCELED, and cancels the
        generator jobs / composition its current step started."""
        ad = await self.get(ad_id)
        if ad.state in TERMINAL:
            raise FailedPrecondition(f"ad {ad_id} is {describe_state(ad)}: it cannot be canceled")
        task = self._runs.get(ad_id)
        if task is not None:
            self._canceling.add(ad_id)
            task.cancel()
            await asyncio.wait({task})
            self._canceling.discard(ad_id)

        def mark(a: studio_pb2.Ad) -> None:
            if a.state in TERMINAL:
                raise FailedPrecondition(
                    f"ad {ad_id} is {describe_state(a)}: it cannot be canceled"
                )
            end(a, _S.AD_STATE_CANCELED, "canceled")

        canceled = await self.act(ad_id, mark)
        await self._cancel_children(canceled)
        return canceled

    async def resume(self, ad_id: str) -> studio_pb2.Ad:
        """Continues a CANCELED or FAILED ad from the step it stopped at: a gate waits for its
        human again; a running step runs again (the pipeline takes over what its stopped
        attempt had made; see ``Pipeline._start``)."""
        ad = await self.get(ad_id)
        _require_stopped(ad)
        voice = await self._stopped_voice(ad)

        def resume(a: studio_pb2.Ad) -> None:
            _require_stopped(a)
            if len(a.steps) != len(ad.steps):
                raise Aborted(f"ad {ad_id} changed while it was being resumed; try again")
            if voice is not None:  # spoken again by the clips step: its cost replaces its estimate
                a.voice_job_id = ""
                a.actual_cost_micros += voice.actual_cost_micros
                a.estimated_cost_micros -= voice.estimated_cost_micros - voice.actual_cost_micros
            a.error = ""
            enter(a, a.step, _S.AD_STATE_AWAITING_INPUT if a.step in GATES else _S.AD_STATE_RUNNING)

        return await self.act(ad_id, resume)

    async def _stopped_voice(self, ad: studio_pb2.Ad) -> generator_pb2.Job | None:
        """At the clips step, the voice-over job (the seed images step's) when it has to be
        spoken again: it failed, or was canceled (a canceled ad's job is being canceled: asked
        again, and waited for). One still running for a failed ad is waited for by the step."""
        if ad.step != _S.AD_STEP_CLIPS_AND_MUSIC or not ad.voice_job_id:
            return None
        job = await self._children.get_job(ad.voice_job_id)
        if job.state not in JOB_TERMINAL and ad.state == _S.AD_STATE_CANCELED:
            with contextlib.suppress(Exception):
                await self._children.cancel_job(job.id)
            job = await self._children.wait_job(job.id)
        if job.state in (generator_pb2.JOB_STATE_FAILED, generator_pb2.JOB_STATE_CANCELED):
            return job
        return None

    async def watch(self, ad_id: str) -> AsyncIterator[studio_pb2.Ad]:
        """The current snapshot, then every newer one, until a terminal state."""
        with self._hub.subscribe(ad_id) as updates:
            ad = await self.get(ad_id)
            yield ad
            seen = ad.version
            while ad.state not in TERMINAL:
                snapshot = await anext(updates)
                if snapshot.version > seen:
                    seen, ad = snapshot.version, snapshot.ad
                    yield ad

    async def resume_interrupted(self) -> int:
        return await self._runs.start()

    async def shutdown(self) -> None:
        """Stops every run without marking it and hands its lease back (resumed elsewhere or at
        the next start-up)."""
        await self._runs.stop()
        await self.replica_changes.aclose()

    # AdWriter, for the pipeline.

    async def read(self, ad_id: str) -> studio_pb2.Ad:
        return await self.get(ad_id)

    async def write(self, ad_id: str, mutate: Mutation) -> studio_pb2.Ad:
        """Applies ``mutate`` while this process still holds the ad's lease (else LeaseLost);
        an ad that stops running gives its lease back in the same write."""
        for _ in range(_WRITE_ATTEMPTS):
            row = await self._repository.get(ad_id)
            if row.owner != self._leases.owner:
                raise LeaseLost(ad_id)
            ad = row.ad()
            mutate(ad)
            lease = None if ad.state == _S.AD_STATE_RUNNING else _RELEASED
            try:
                row = await self._repository.replace(
                    ad, expected_version=row.version, owner=self._leases.owner, lease=lease
                )
            except VersionConflict:
                continue
            self._publish(row)
            return row.ad()
        raise LeaseLost(ad_id)

    async def mark_call(self, ad_id: str) -> float | None:
        """Notes that a create for the ad's running step is being sent (fenced by the lease);
        returns when an earlier attempt sent it, if its answer was never saved."""
        try:
            earlier = await self._repository.mark_call(ad_id, self._leases.owner)
        except VersionConflict:
            raise LeaseLost(ad_id) from None
        return None if earlier is None else earlier / 1_000_000

    # Internals.

    def _publish(self, row: AdRow) -> None:
        self._hub.publish(row.id, Snapshot(row.version, row.ad()))

    async def _republish(self, ad_id: str) -> None:
        try:
            self._publish(await self._repository.get(ad_id))
        except Exception:
            _LOGGER.exception("re-reading ad %s failed", ad_id)

    async def _resume(self, ad_ids: list[str]) -> None:
        for ad_id in ad_ids:
            self._start(ad_id)
        _LOGGER.info("resuming %s interrupted ads", len(ad_ids))

    def _start(self, ad_id: str) -> None:
        if ad_id not in self._runs:
            self._runs.run(ad_id, self._run(ad_id))

    async def _run(self, ad_id: str) -> None:
        try:
            await self._pipeline.run(ad_id)
        except LeaseLost:
            _LOGGER.warning("ad %s: lease lost; another replica (or a cancel) has it", ad_id)
        except asyncio.CancelledError:
            raise  # shutting down (the row stays RUNNING, resumed later) or canceled by cancel()
        except Exception as error:
            _LOGGER.exception("ad %s crashed", ad_id)
            message = redact_paths(f"internal error: {error}")
            with contextlib.suppress(LeaseLost):
                await self.write(ad_id, lambda a: end(a, _S.AD_STATE_FAILED, message))

    async def _cancel_children(self, ad: studio_pb2.Ad) -> None:
        """Best effort: work the last step started stops costing money."""
        record = ad.steps[-1] if ad.steps else studio_pb2.StepRecord()
        job_ids = list(record.job_ids)
        if ad.step == _S.AD_STEP_CLIPS_AND_MUSIC and ad.voice_job_id:
            job_ids.append(ad.voice_job_id)  # started by the seed images step, awaited here
        for job_id in job_ids:
            with contextlib.suppress(Exception):
                await self._children.cancel_job(job_id)
        # A compose step runs one composition per render (platforms × cut-downs).
        running = [
            r.composition_id
            for r in ad.renders
            if r.composition_id and r.state not in COMPOSITION_TERMINAL
        ]
        for composition_id in running if ad.step == _S.AD_STEP_COMPOSE else []:
            with contextlib.suppress(Exception):
                await self._children.cancel_composition(composition_id)
