"""kill -9 of a real studio process mid-clips, then a restart on the same SQLite data: the ad
completes, re-attached to the jobs on record, and every prediction is paid once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fakes.replicate_server import FakeReplicate
from tests.studio import processes as studio
from tests.studio.helpers import children, hosted_generator

# Long enough to kill the studio while the clips run.
PREDICTION_S = 2.0
# From "restarted studio answers" to "ad completed": generous for a loaded 2-core machine.
FINISH_BOUND_S = 20.0


@pytest.mark.timeout(90)
@pytest.mark.usefixtures("studio_module")
async def test_studio_killed_mid_clips_completes_after_restart_paying_once(
    subprocess_env: dict[str, str], data_dir: Path, tmp_path: Path, fake: FakeReplicate
) -> None:
    fake.latency_s = PREDICTION_S
    async with children(data_dir, hosted_generator(fake)) as stack:
        process = studio.studio_process(subprocess_env, stack.ports, tmp_path / "studio.log")
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
