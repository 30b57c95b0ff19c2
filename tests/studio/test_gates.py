"""Gated ads through REST: stop at choose mood and approve storyboard; then regenerate, re-render."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.studio.helpers import Client, Stack, create_ad, watch_ad

AWAITING = {"AD_STATE_AWAITING_INPUT"}


def lease_of(data_dir: Path, ad_id: str) -> tuple[str | None, float]:
    with contextlib.closing(sqlite3.connect(data_dir / "studio.db")) as db:
        query = "SELECT owner, lease_expires_at FROM studio_ads WHERE id = ?"
        owner, expires = db.execute(query, (ad_id,)).fetchone()
    return owner, expires


async def test_gated_ad_waits_for_a_human_then_regenerates_one_scene(
    client: Client, stack: Stack
) -> None:
    created = await create_ad(
        client,
        options={"gateMood": True, "gateStoryboard": True, "render": {"height": 320, "fps": 12}},
    )
    ad_id = created["id"]
    waiting = (await watch_ad(client, ad_id, AWAITING | {"AD_STATE_FAILED"}))[-1]
    assert (waiting["state"], waiting["step"]) == ("AD_STATE_AWAITING_INPUT", "AD_STEP_CHOOSE_MOOD")
    # Waiting at a gate holds nothing but the row: no replica's lease.
    assert lease_of(stack.data_dir, ad_id) == (None, 0.0)
    mood = waiting["moods"][1]["id"]
    chosen = await client.post(f"/api/ads/{ad_id}/mood", json={"moodId": mood})
    assert chosen.status == 200, await chosen.text()
    board = (await watch_ad(client, ad_id, AWAITING | {"AD_STATE_FAILED"}))[-1]
    assert board["step"] == "AD_STEP_APPROVE_STORYBOARD" and board["chosenMoodId"] == mood
    # Edit: swap the first two scenes' order and recaption the first.
    scenes = [{"fromScene": i, "durationSeconds": s["scene"]["durationSeconds"]}
              for i, s in enumerate(board["storyboard"])]  # fmt: skip
    scenes[0], scenes[1] = scenes[1], scenes[0]
    scenes[0]["caption"] = "Drink more"
    edited = await client.put(f"/api/ads/{ad_id}/storyboard", json={"scenes": scenes})
    assert edited.status == 200, await edited.text()
    body = await edited.json()
    assert body["storyboard"][0]["scene"]["caption"] == "Drink more"
    bad = await client.put(f"/api/ads/{ad_id}/storyboard", json={"scenes": scenes[:2]})
    assert bad.status == 400 and "scenes" in await bad.text()
    approved = await client.post(f"/api/ads/{ad_id}/storyboard/approve", json={})
    assert approved.status == 200, await approved.text()
    done = (await watch_ad(client, ad_id))[-1]
    assert done["state"] == "AD_STATE_COMPLETED", done["error"]
    old_clip = done["storyboard"][2]["clip"]["id"]
    # Regenerate scene 3 (index 2): a second version, a second render; the others untouched.
    again = await client.post(
        f"/api/ads/{ad_id}/scenes/2/regenerate",
        json={"what": "REGENERATE_WHAT_BOTH", "hint": "dusk"},
    )
    assert again.status == 200, await again.text()
    final = (await watch_ad(client, ad_id))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final["error"]
    scene = final["storyboard"][2]
    assert [v["number"] for v in scene["versions"]] == [1, 2]
    assert scene["versions"][0]["clip"]["id"] == old_clip != scene["clip"]["id"]
    assert all(len(s["versions"]) == 1 for i, s in enumerate(final["storyboard"]) if i != 2)
    renders = await (await client.get(f"/api/ads/{ad_id}/renders")).json()
    assert [r["state"] for r in renders["renders"]] == ["COMPOSITION_STATE_COMPLETED"] * 2
    assert renders["renders"][0]["downloadUri"] != renders["renders"][1]["downloadUri"]
