"""Two studio processes on one PostgreSQL database: an ad created on one is watched through the
other (LISTEN/NOTIFY), and when the one running it is killed (-9) the other takes it over once
the lease expires, re-attaching to the jobs on record: the ad completes, each item paid once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from reelforge.v1 import studio_pb2
from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import fresh_database
from tests.reliability.processes import ServiceProcess
from tests.studio import processes as studio

LEASE_TTL_S = 2.0
# A dead replica's ads are claimed within ~1.5 × TTL; the rest of the ad takes a few seconds
# more. Generous for a loaded 2-core machine, far below the default TTL (30 s).
TAKEOVER_BOUND_S = 25.0


@pytest.mark.timeout(120)
async def test_replica_takes_over_an_ad_whose_studio_was_killed(
    make_studio: Callable[..., ServiceProcess], fake: FakeReplicate
) -> None:
    async with fresh_database("studio") as database:
        extra = {"DATABASE_URL": database, "LEASE_TTL_S": str(LEASE_TTL_S)}
        a, b = (make_studio(f"studio-{n}", **extra) for n in "ab")
        async with (
            studio.started(a, b),
            studio.studio_stub(a) as on_a,
            studio.studio_stub(b) as on_b,
        ):
            # Created on A, watched on B: B's watchers see A's writes as A runs the ad.
            seen_on_b = await studio.kill_mid_clips(a, on_a, on_b)
            killed = time.monotonic()
            final = (await studio.watch_until(on_b, seen_on_b[-1].id))[-1]
            took = time.monotonic() - killed
            listed = await on_b.ListAds(studio_pb2.ListAdsRequest(), timeout=10)

    steps_seen = {snapshot.step for snapshot in seen_on_b}
    assert {studio_pb2.AD_STEP_PLAN, studio_pb2.AD_STEP_SEED_IMAGES} <= steps_seen
    studio.assert_completed_on_the_same_jobs(final, seen_on_b[-1], fake.creates)
    assert [listed_ad.id for listed_ad in listed.ads] == [final.id]
    assert took < TAKEOVER_BOUND_S, f"completed {took:.1f} s after the kill"
    print(f"\nreplica b completed the ad {took:.1f} s after replica a was killed")
