"""Progress bars of an ad: one per job or render of each step, fed by the ad's snapshots.

The studio's snapshots say which step runs and which generator jobs / composition it started;
on a terminal the bars also follow those children's own event streams for their percent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient
from reelforge.v1 import composer_pb2, generator_pb2, studio_pb2

_S = studio_pb2
# The bars of a step, in the order of the children it starts (Ad.steps[].job_ids).
_BARS: dict[int, tuple[str, ...]] = {
    _S.AD_STEP_MOODS: ("mood samples",),
    _S.AD_STEP_PLAN: ("storyboard",),
    _S.AD_STEP_SEED_IMAGES: ("seed images",),
    _S.AD_STEP_CLIPS_AND_MUSIC: ("clips", "music"),
    _S.AD_STEP_REGENERATE: ("new version",),
    _S.AD_STEP_COMPOSE: ("compose",),
}


def make_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


class AdProgress:
    """Turns each snapshot of an ad into bars; ``close`` stops following the children."""

    def __init__(self, client: GatewayClient, progress: Progress) -> None:
        self._client = client
        self._progress = progress
        self._bars: dict[tuple[int, int], TaskID] = {}
        self._followers: dict[TaskID, asyncio.Task[None]] = {}

    def show(self, ad: studio_pb2.Ad) -> None:
        for n, record in enumerate(ad.steps):
            labels = _BARS.get(record.step, ())
            children = list(record.job_ids) or [c for c in [record.composition_id] if c]
            for slot, label in enumerate(_labels(labels, len(children))):
                bar = self._bar((n, slot), label)
                if record.HasField("finished_at"):
                    self._finish(bar, record.error)
                elif slot < len(children):
                    self._follow(bar, record.step, children[slot])
                else:
                    self._progress.update(bar, status="starting")

    async def close(self) -> None:
        followers = list(self._followers.values())
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)

    def _bar(self, key: tuple[int, int], label: str) -> TaskID:
        if key not in self._bars:
            self._bars[key] = self._progress.add_task(label, total=100, status="")
        return self._bars[key]

    def _finish(self, bar: TaskID, error: str) -> None:
        follower = self._followers.pop(bar, None)
        if follower is not None:
            follower.cancel()
        if error:
            self._progress.update(bar, status=error[:40])
        else:
            self._progress.update(bar, completed=100, status="done")

    def _follow(self, bar: TaskID, step: int, child_id: str) -> None:
        """Percent from the child's own events: only worth the stream when bars are drawn."""
        if bar in self._followers or self._progress.disable:
            return
        updates: AsyncIterator[generator_pb2.Job | composer_pb2.Composition]
        if step == _S.AD_STEP_COMPOSE:
            route = f"/api/composition/{child_id}/events"
            updates = self._client.events_as(route, composer_pb2.Composition)
        else:
            updates = self._client.events_as(f"/api/jobs/{child_id}/events", generator_pb2.Job)
        self._followers[bar] = asyncio.create_task(self._percent(bar, updates))

    async def _percent(
        self, bar: TaskID, updates: AsyncIterator[generator_pb2.Job | composer_pb2.Composition]
    ) -> None:
        # The bars are decoration: a child stream that fails leaves its bar where it was.
        with contextlib.suppress(CliError):
            async for child in updates:
                self._progress.update(bar, completed=child.percent, status=_status(child))


def _labels(labels: tuple[str, ...], children: int) -> list[str]:
    """A step's bars: its named ones, plus a numbered one per extra child (a regeneration
    that remakes the image and then the clip)."""
    if not labels:
        return []
    extra = [f"{labels[-1]} {n + 1}" for n in range(len(labels), children)]
    return [*labels, *extra]


def _status(child: generator_pb2.Job | composer_pb2.Composition) -> str:
    if isinstance(child, composer_pb2.Composition):
        return child.message or _short(composer_pb2.CompositionState.Name(child.state))
    done = sum(1 for item in child.items if item.outputs)
    return f"{done}/{len(child.items)} done"


def _short(state: str) -> str:
    return state.rsplit("_STATE_", 1)[-1].lower()
