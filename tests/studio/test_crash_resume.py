"""kill -9 of a real studio process mid-clips, then a restart on the same SQLite data: the ad
completes, re-attached to the jobs on record, and every prediction is paid once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.fakes.replicate_server import FakeReplicate
from tests.reliability.processes import ServiceProcess
from tests.studio import processes as studio

# From "restarted studio answers" to "ad completed": generous for a loaded 2-core machine.
FINISH_BOUND_S = 20.0


@pytest.mark.timeout(90)
async def test_studio_killed_mid_clips_completes_after_restart_paying_once(
    make_studio: Callable[..., ServiceProcess], fake: FakeReplicate
) -> None:
    process = make_studio("studio")
    async with studio.started(process):
        async with studio.studio_stub(process) as stub:
            at_kill = (await studio.kill_mid_clips(process, stub, stub))[-1]
        await process.start()
        await process.ready()
        restarted = time.monotonic()
        async with studio.studio_stub(process) as stub:
            final = (await studio.watch_until(stub, at_kill.id))[-1]
        took = time.monotonic() - restarted

    studio.assert_completed_on_the_same_jobs(final, at_kill, fake.creates)
    assert took < FINISH_BOUND_S, f"completed {took:.1f} s after the restart"
