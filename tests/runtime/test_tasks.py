"""periodic() outlives a failing step and ends on cancel; cancel_and_wait ends every task."""

from __future__ import annotations

import asyncio
import logging

import pytest

from reelforge.runtime.tasks import cancel_and_wait, periodic


async def test_periodic_continues_after_a_failing_step_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0
    third = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            third.set()
        if calls == 1:
            raise RuntimeError("database hiccup")

    task = asyncio.create_task(periodic(0.01, step, what="tidying up"))
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(third.wait(), 10)
    await cancel_and_wait([task])
    assert calls >= 3, "the rounds after the failing one still ran"
    failures = [r for r in caplog.records if r.getMessage() == "tidying up failed"]
    assert len(failures) == 1 and failures[0].exc_info is not None


async def test_periodic_stops_on_cancel_and_runs_no_more_steps() -> None:
    calls = 0
    first = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        first.set()

    task = asyncio.create_task(periodic(0.01, step, what="step"))
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped_at = calls
    await asyncio.sleep(0.05)  # five intervals
    assert calls == stopped_at


async def test_periodic_waits_one_interval_before_the_first_step() -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1

    task = asyncio.create_task(periodic(3600, step, what="step"))
    await asyncio.sleep(0.05)
    await cancel_and_wait([task])
    assert calls == 0


async def test_cancel_and_wait_ends_every_task_whatever_it_raised() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def fails_on_cancel() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    tasks = [asyncio.create_task(forever()), asyncio.create_task(fails_on_cancel())]
    await asyncio.sleep(0)
    await cancel_and_wait(tasks)
    assert all(task.done() for task in tasks)
    await cancel_and_wait([])  # nothing to stop: returns
