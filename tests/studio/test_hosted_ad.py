"""The hosted path through the studio: every prediction the ad needs is created once on the fake
Replicate (a sample per mood, a seed image and a clip per scene, one track), and no more."""

from __future__ import annotations

from tests.fakes.replicate_server import FakeReplicate
from tests.studio.conftest import Client, create_ad, paid_items, watch_ad


async def test_a_hosted_ad_pays_each_item_once(hosted_client: Client, fake: FakeReplicate) -> None:
    ad = await create_ad(hosted_client)
    final = (await watch_ad(hosted_client, ad["id"]))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    scenes = len(final["storyboard"])
    assert paid_items(final) == len(final["moods"]) + 2 * scenes + 1
    assert fake.creates == paid_items(final), "a prediction was created twice (or one missed)"
    # Costs come from the provider's answers: every scene paid something, the ad the sum.
    assert all(int(s["actualCostMicros"]) > 0 for s in final["storyboard"])
    assert int(final["actualCostMicros"]) > 0
    assert int(final["estimatedCostMicros"]) >= int(final["actualCostMicros"])
