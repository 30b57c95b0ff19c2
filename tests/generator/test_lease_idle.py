"""Jobs that arrive after the generator sat idle for longer than its lease TTL run at once.

Regression: the lease heartbeat skipped renewing while the process held nothing, so the
margin check before each paid create saw a renewal older than the TTL and refused every
create after an idle gap ("lease lost; another replica runs it", item stuck SUBMITTING).
"""

from __future__ import annotations

import asyncio

import pytest

from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, clips, generator, wait_for_job

# Short enough for a quick test, long enough that a loaded 2-core machine (event loop and
# PostgreSQL answering late) still renews well inside the create's margin (TTL/3 = 1 s).
LEASE_TTL_S = 3.0
# Longer than the TTL minus the margin a create checks (TTL/3): without idle renewals the
# last one is stale by the time the next job arrives.
IDLE_GAP_S = 1.5 * LEASE_TTL_S


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_jobs_after_idle_gaps_longer_than_the_lease_ttl_each_create_once(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    settings = make_settings(lease_ttl_s=LEASE_TTL_S)
    async with generator(settings) as stub:
        for round_ in range(2):
            await asyncio.sleep(IDLE_GAP_S)
            job = await stub.GenerateClips(clips(2, tag=f"round {round_}"), timeout=10)
            done = await wait_for_job(stub, job.id)
            assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
            # One create attempt per item: none was refused for a lapsed lease and retried.
            assert [item.attempts for item in done.items] == [1, 1]
    assert fake.creates == 4
