"""One REST call makes an ad: POST /api/ads → WatchAd → COMPLETED, an MP4 of the ad's length."""

from __future__ import annotations

from pathlib import Path

from reelforge.runtime.media import probe
from tests.studio.helpers import AD_SECONDS, BRIEF, Client, create_ad, watch_ad


async def test_one_post_makes_an_ad(client: Client, tmp_path: Path) -> None:
    ad = await create_ad(client)
    assert ad["state"] == "AD_STATE_RUNNING" and ad["step"] == "AD_STEP_MOODS"
    snapshots = await watch_ad(client, ad["id"])
    final = snapshots[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    steps = [s["step"] for s in final["steps"]]
    assert steps == [
        "AD_STEP_MOODS",
        "AD_STEP_PLAN",
        "AD_STEP_SEED_IMAGES",
        "AD_STEP_CLIPS_AND_MUSIC",
        "AD_STEP_COMPOSE",
        "AD_STEP_DONE",
    ]
    # Every paid step names the jobs it started, so a restart re-attaches to them.
    assert all(final["steps"][i]["jobIds"] for i in (0, 2, 3))
    assert len(final["steps"][3]["jobIds"]) == 2  # clips and music
    assert final["chosenMoodId"] == final["moods"][0]["id"]
    assert all(mood["images"] for mood in final["moods"])
    for scene in final["storyboard"]:
        assert scene["seedImage"]["id"] and scene["clip"]["id"]
        assert [v["number"] for v in scene["versions"]] == [1]
    (render,) = final["renders"]
    assert render["state"] == "COMPOSITION_STATE_COMPLETED"
    download = await client.get(render["downloadUri"])
    assert download.status == 200
    path = tmp_path / "ad.mp4"
    path.write_bytes(await download.read())
    info = await probe(path)
    assert abs(info.duration_seconds - AD_SECONDS) <= 1 / 12 + 1e-3
    assert (info.width, info.height) == (180, 320)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    # The watch saw the ad move, not only its last state.
    assert len(snapshots) > 3
    assert (await (await client.get(f"/api/ads/{ad['id']}")).json())["version"] == final["version"]


async def test_create_replayed_with_the_same_request_id_returns_the_same_ad(client: Client) -> None:
    first = await create_ad(client, requestId="order-17")
    again = await create_ad(client, requestId="order-17")
    other = await create_ad(client, requestId="order-18")
    assert again["id"] == first["id"]
    assert other["id"] != first["id"]
    listed = await (await client.get("/api/ads")).json()
    assert sorted(a["id"] for a in listed["ads"]) == sorted({first["id"], other["id"]})
    for ad_id in (first["id"], other["id"]):
        await client.post(f"/api/ads/{ad_id}/cancel", json={})


async def test_bad_input_names_the_field(client: Client) -> None:
    brief = BRIEF | {"tone": ""}
    response = await client.post(
        "/api/ads", json={"brief": brief, "options": {"durationSeconds": 500}}
    )
    assert response.status == 400
    body = await response.text()
    assert "brief.tone" in body and "options.duration_seconds" in body


async def test_wrong_state_call_names_the_state(client: Client) -> None:
    ad = await create_ad(client)
    response = await client.post(f"/api/ads/{ad['id']}/mood", json={"moodId": "m1"})
    assert response.status == 412  # the gateway maps FAILED_PRECONDITION to 412
    body = await response.text()
    assert "FAILED_PRECONDITION" in body and "RUNNING" in body and "CHOOSE_MOOD" in body
    await client.post(f"/api/ads/{ad['id']}/cancel", json={})
