"""kill -9 of a real studio process mid-clips, then a restart on the same SQLite data: the ad
completes, re-attached to the jobs on record, and every prediction is paid once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reelforge.v1 import studio_pb2
from tests.fakes.replicate_server import FakeReplicate
from tests.studio.conftest import children, hosted_generator, paid_items
from tests.studio.processes import (
    as_json,
    clips_running,
    create_request,
    sigkill,
    started,
    studio_process,
    studio_stub,
    watch_until,
)

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
        studio = studio_process(subprocess_env, stack.ports, tmp_path / "studio.log")
        async with started(studio):
            async with studio_stub(studio) as stub:
                ad = await stub.CreateAd(create_request(), timeout=30)
                before = (await watch_until(stub, ad.id, clips_running))[-1]
            await sigkill(studio)

            await studio.start()
            await studio.ready()
            restarted = time.monotonic()
            async with studio_stub(studio) as stub:
                final = (await watch_until(stub, ad.id))[-1]
            took = time.monotonic() - restarted

    assert final.state == studio_pb2.AD_STATE_COMPLETED, final.error
    # The resumed step re-attached to the jobs it had started, not new ones.
    assert list(final.steps[3].job_ids) == list(before.steps[-1].job_ids)
    assert fake.creates == paid_items(as_json(final)), "an item was paid for twice"
    assert took < FINISH_BOUND_S, f"completed {took:.1f} s after the restart"
