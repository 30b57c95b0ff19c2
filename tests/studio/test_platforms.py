"""One RenderAd → platforms × cut-downs: each its own render of the platform's exact size and the
cut-down's exact length, opening on the hook, with no new prediction paid."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from reelforge.runtime.media import probe
from tests.composer.media import frame_at
from tests.fakes.replicate_server import FakeReplicate
from tests.studio.helpers import Client, create_ad, paid_items, watch_ad

FPS = 12
LONG_AD_S = 16.0  # longer than the 15 s cut-down
SIZES = {"tiktok": (180, 320), "landscape": (568, 320), "square": (320, 320)}


async def _completed_ad(client: Client, seconds: float) -> dict[str, Any]:
    options = {"durationSeconds": seconds, "render": {"height": 320, "fps": FPS}}
    ad = await create_ad(client, options=options)
    done = (await watch_ad(client, ad["id"]))[-1]
    assert done["state"] == "AD_STATE_COMPLETED", done.get("error")
    return done


async def _render(client: Client, ad_id: str, **options: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/ads/{ad_id}/renders", json={"options": {"height": 320, "fps": FPS} | options}
    )
    assert response.status == 200, await response.text()
    final = (await watch_ad(client, ad_id))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    return final


async def _download(client: Client, render: dict[str, Any], dest: Path) -> Path:
    response = await client.get(render["downloadUri"])
    assert response.status == 200
    dest.write_bytes(await response.read())  # noqa: ASYNC240 (a few kB in a test)
    return dest


async def _jobs(client: Client) -> int:
    listed = await (await client.get("/api/jobs?pageSize=100")).json()
    return len(listed.get("jobs", []))


def _differ(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


async def test_platforms_times_cutdowns_make_exact_renders_that_open_on_the_hook(
    client: Client, tmp_path: Path
) -> None:
    ad = await _completed_ad(client, LONG_AD_S)
    jobs, paid = await _jobs(client), paid_items(ad)
    final = await _render(client, ad["id"], platforms=["tiktok", "landscape"], cutdowns=[15, 6])
    listed = (await (await client.get(f"/api/ads/{ad['id']}/renders")).json())["renders"]
    assert listed == final["renders"]
    full, *cuts = listed
    shapes = [(r["number"], r["platform"], r.get("cutdownSeconds", 0)) for r in listed]
    assert shapes == [
        (1, "tiktok", 0),
        (2, "tiktok", 15),
        (3, "tiktok", 6),
        (4, "landscape", 15),
        (5, "landscape", 6),
    ]
    # Each cut-down opens on the hook and ends on the call to action, in whole hundredths.
    last = len(ad["storyboard"]) - 1
    for render in cuts:
        scenes = [c["scene"] for c in render["cut"]]
        assert scenes[0] == 0 and scenes[-1] == last, scenes
        seconds = sum(c["durationSeconds"] for c in render["cut"])
        assert round(seconds, 2) == render["cutdownSeconds"]
    # No new prediction: the generator made no job for the four renders, the ad paid nothing.
    assert await _jobs(client) == jobs and paid_items(final) == paid

    full_path = await _download(client, full, tmp_path / "full.mp4")
    hook = frame_at(full_path, 0, 180, 320)
    call_to_action = frame_at(full_path, LONG_AD_S - 0.5, 180, 320)
    firsts: dict[str, list[np.ndarray]] = {}
    for render in cuts:
        path = await _download(client, render, tmp_path / f"render-{render['number']}.mp4")
        info = await probe(path)
        width, height = SIZES[render["platform"]]
        assert (info.width, info.height) == (width, height) == (render["width"], render["height"])
        assert abs(info.duration_seconds - render["cutdownSeconds"]) <= 1 / FPS + 1e-3
        assert abs(render["durationSeconds"] - render["cutdownSeconds"]) <= 1 / FPS + 1e-3
        firsts.setdefault(render["platform"], []).append(frame_at(path, 0, width, height))
    # The first frame is the full ad's (pixels; the encodes differ a little), which the call
    # to action's frame is not.
    for first in firsts["tiktok"]:
        assert _differ(first, hook) < 4 < _differ(first, call_to_action)
    fifteen, six = firsts["landscape"]
    assert _differ(fifteen, six) < 4


async def test_cutdowns_pay_no_prediction_on_the_hosted_path(
    hosted_client: Client, fake: FakeReplicate
) -> None:
    ad = await _completed_ad(hosted_client, LONG_AD_S)
    paid = fake.creates
    final = await _render(hosted_client, ad["id"], platforms=["square"], cutdowns=[0, 15, 6])
    assert [r.get("cutdownSeconds", 0) for r in final["renders"][1:]] == [0, 15, 6]
    assert fake.creates == paid == paid_items(final)


BAD = [
    ({"platforms": ["tiktok", "myspace"]}, "options.platforms[1]"),
    ({"platforms": ["square", "square"]}, "options.platforms"),
    ({"platform": "myspace"}, "options.platform"),
    ({"cutdowns": [15, 10]}, "options.cutdowns[1]"),
    ({"cutdowns": [6, 6]}, "options.cutdowns"),
    ({"cutdowns": [6]}, "options.cutdowns[0]"),  # the ad lasts 6 s: not longer than the cut
    ({"fit": "FIT_STRETCH"}, "options.fit"),
    ({"fit": 9}, "options.fit"),
]


async def test_bad_platforms_and_cutdowns_name_the_field(client: Client) -> None:
    ad = await _completed_ad(client, 6.0)
    for options, field in BAD:
        response = await client.post(f"/api/ads/{ad['id']}/renders", json={"options": options})
        assert response.status == 400, (options, await response.text())
        assert field in await response.text(), options
    assert len((await (await client.get(f"/api/ads/{ad['id']}")).json())["renders"]) == 1
    # The first render's options are checked when the ad is made.
    refused = await client.post(
        "/api/ads",
        json={
            "brief": ad["brief"],
            "options": {"durationSeconds": 10, "render": {"cutdowns": [15]}},
        },
    )
    assert refused.status == 400 and "options.render.cutdowns[0]" in await refused.text()


async def test_renders_of_another_shape_fill_their_frame(client: Client, tmp_path: Path) -> None:
    """A 9:16 ad rendered square and for the 4:5 feed: each its exact size, cropped to cover
    (the scenes' focus points are the centre), never letter-boxed."""
    ad = await _completed_ad(client, 6.0)
    final = await _render(client, ad["id"], platforms=["square", "feed"])
    square, feed = final["renders"][-2:]
    assert [(r["platform"], r["width"], r["height"]) for r in (square, feed)] == [
        ("square", 320, 320),
        ("feed", 256, 320),
    ]
    for render in (square, feed):
        path = await _download(client, render, tmp_path / f"{render['platform']}.mp4")
        info = await probe(path)
        assert (info.width, info.height) == (render["width"], render["height"])
        frame = frame_at(path, 1.0, info.width, info.height)
        # Letterbox bars are black (RGB ≤ ~16): the outer tenth on each side shows the picture.
        tenth = info.width // 10
        edges = np.concatenate([frame[:, :tenth], frame[:, -tenth:]])
        assert edges.max() > 40, f"the {render['platform']} render is letterboxed"


def _scaled_frame(path: Path, width: int, height: int) -> np.ndarray:
    """The first frame of ``path`` scaled to ``width`` × ``height`` (RGB ints)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-vf",
         f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(int)


async def test_a_focus_point_set_in_the_storyboard_moves_the_landscape_crop(
    client: Client, tmp_path: Path
) -> None:
    """The hook's focus point moved to the top at the storyboard gate: the landscape render's
    first frame is the top band of the vertical picture, not its middle."""
    render = {"height": 320, "fps": FPS, "platforms": ["tiktok", "landscape"]}
    created = await create_ad(
        client, options={"durationSeconds": 6, "gateStoryboard": True, "render": render}
    )
    gate = {"AD_STATE_AWAITING_INPUT", "AD_STATE_FAILED"}
    board = (await watch_ad(client, created["id"], gate))[-1]
    assert board["step"] == "AD_STEP_APPROVE_STORYBOARD", board.get("error")
    scenes: list[dict[str, Any]] = [{"fromScene": i} for i in range(len(board["storyboard"]))]
    scenes[0] |= {"focusX": 0.5, "focusY": 0.0}
    bad = await client.put(
        f"/api/ads/{created['id']}/storyboard", json={"scenes": [{**scenes[0], "focusY": 2}]}
    )
    assert bad.status == 400 and "scenes[0].focus_y" in await bad.text()
    edited = await client.put(f"/api/ads/{created['id']}/storyboard", json={"scenes": scenes})
    assert edited.status == 200, await edited.text()
    assert (await edited.json())["storyboard"][0]["scene"]["focusY"] == 0
    approved = await client.post(f"/api/ads/{created['id']}/storyboard/approve", json={})
    assert approved.status == 200, await approved.text()
    done = (await watch_ad(client, created["id"]))[-1]
    assert done["state"] == "AD_STATE_COMPLETED", done.get("error")
    vertical, landscape = done["renders"]
    wide = frame_at(await _download(client, landscape, tmp_path / "wide.mp4"), 0, 568, 320)
    # The vertical picture at the landscape render's scale: 568 × 1010, of which 320 rows show.
    tall = _scaled_frame(await _download(client, vertical, tmp_path / "tall.mp4"), 568, 1010)
    top, middle = _differ(wide, tall[:320]), _differ(wide, tall[345:665])
    assert top < middle / 2, (top, middle)
