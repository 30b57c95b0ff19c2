"""The hosted path through the studio: every prediction the ad needs is created once on the fake
Replicate (a sample per mood, a seed image, a clip and a voice line per scene, one track), and
no more."""

from __future__ import annotations

from tests.fakes.replicate_server import FakeReplicate
from tests.studio.helpers import Client, create_ad, paid_items, watch_ad


async def test_a_hosted_ad_pays_each_item_once(hosted_client: Client, fake: FakeReplicate) -> None:
    ad = await create_ad(hosted_client)
    final = (await watch_ad(hosted_client, ad["id"]))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    scenes = len(final["storyboard"])
    lines = sum(bool(s["scene"]["voiceLine"]) for s in final["storyboard"])
    assert lines == scenes  # the planner gave every scene a voice-over line
    assert paid_items(final) == len(final["moods"]) + 2 * scenes + 1 + lines
    assert fake.creates == paid_items(final), "a prediction was created twice (or one missed)"
    # Costs come from the provider's answers: every scene paid something, the ad the sum.
    assert all(int(s["actualCostMicros"]) > 0 for s in final["storyboard"])
    assert int(final["actualCostMicros"]) > 0
    assert int(final["estimatedCostMicros"]) >= int(final["actualCostMicros"])


async def test_regenerating_scene_3_pays_only_its_predictions(
    hosted_client: Client, fake: FakeReplicate
) -> None:
    ad = await create_ad(hosted_client)
    done = (await watch_ad(hosted_client, ad["id"]))[-1]
    assert done["state"] == "AD_STATE_COMPLETED", done.get("error")
    paid = fake.creates
    for what, added in (("REGENERATE_WHAT_BOTH", 2), ("REGENERATE_WHAT_IMAGE", 1)):
        again = await hosted_client.post(
            f"/api/ads/{ad['id']}/scenes/2/regenerate", json={"what": what}
        )
        assert again.status == 200, await again.text()
        final = (await watch_ad(hosted_client, ad["id"]))[-1]
        assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
        assert fake.creates == paid + added, what
        paid = fake.creates
    scenes = final["storyboard"]
    assert [len(s["versions"]) for s in scenes] == [3 if i == 2 else 1 for i in range(len(scenes))]
    image_only = scenes[2]["versions"][2]
    assert image_only["imageJobId"] and not image_only.get("clipJobId")
    assert fake.creates == paid_items(final)
    assert len(final["renders"]) == 3
