"""max_cost: an ad whose quote fits runs; once what it has spent leaves too little for the next
step (here: regenerating a scene again and again), it stops before that step pays anything,
FAILED with an error naming the cap; the fake Replicate counts nothing more."""

from __future__ import annotations

from tests.fakes.replicate_server import FakeReplicate
from tests.studio.helpers import BRIEF, RENDER, Client, create_ad, paid_items, watch_ad

# A 6 s ad's quote leaves room for a couple of regenerations; never this many.
MOST_REGENERATIONS = 8


async def test_a_running_ad_stops_at_its_cost_cap(
    hosted_client: Client, fake: FakeReplicate
) -> None:
    quoted = await hosted_client.post(
        "/api/ads/estimate", json={"brief": BRIEF, "options": {"render": RENDER}}
    )
    assert quoted.status == 200, await quoted.text()
    quote = await quoted.json()
    samples = next(line for line in quote["lines"] if line["step"] == "AD_STEP_MOODS")
    image_price = int(samples["estimatedCostMicros"]) // 3  # "3 mood sample images"
    # Room for one more image than the quote: a regeneration's image fits, its clip does not,
    # so only a check of the whole step before it starts keeps the image from being paid.
    cap = int(quote["estimatedCostMicros"]) + image_price
    ad = await create_ad(hosted_client, options={"render": RENDER, "maxCostMicros": cap})
    done = (await watch_ad(hosted_client, ad["id"]))[-1]
    assert done["state"] == "AD_STATE_COMPLETED", done.get("error")

    final, regenerated = done, 0
    while final["state"] == "AD_STATE_COMPLETED" and regenerated < MOST_REGENERATIONS:
        again = await hosted_client.post(
            f"/api/ads/{ad['id']}/scenes/0/regenerate", json={"what": "REGENERATE_WHAT_BOTH"}
        )
        assert again.status == 200, await again.text()
        final = (await watch_ad(hosted_client, ad["id"]))[-1]
        regenerated += 1
    print(f"\ncap {cap}: stopped at regeneration {regenerated}")

    assert (final["state"], final["step"]) == ("AD_STATE_FAILED", "AD_STEP_REGENERATE")
    assert "cost cap" in final["error"] and str(cap) in final["error"], final["error"]
    assert int(final["estimatedCostMicros"]) <= cap
    # The stopped step paid nothing: every prediction made belongs to a kept version.
    assert fake.creates == paid_items(final)
    assert len(final["storyboard"][0]["versions"]) == regenerated  # the last one never made
    assert len(final["renders"]) == regenerated


async def test_an_ad_quoted_over_its_cap_is_refused_before_anything_is_paid(
    hosted_client: Client, fake: FakeReplicate
) -> None:
    response = await hosted_client.post(
        "/api/ads", json={"brief": BRIEF, "options": {"render": RENDER, "maxCostMicros": 1000}}
    )
    assert response.status == 412, await response.text()  # the gateway's FAILED_PRECONDITION
    body = await response.text()
    assert "options.max_cost_micros (1000)" in body and "nothing was started" in body
    assert (await (await hosted_client.get("/api/ads")).json()).get("ads", []) == []
    assert fake.creates == 0
