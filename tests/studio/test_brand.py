"""The brief's brand kit reaches the picture: an offline ad with an uploaded logo ends on the
brand's end card; a re-render with the watermark and without the card shows the logo in its
corner and ends on the clip."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tests.composer.media import frame_at
from tests.studio.helpers import AD_SECONDS, BRIEF, RENDER, Client, watch_ad

_BLUE = (0x10, 0x40, 0xC0)  # the brand's main colour: the card's background
_MAGENTA = (0xE0, 0x10, 0x7A)  # the logo's body
_W, _H = 180, 320
_CHANGED = 60  # summed RGB difference above x264's noise between two renders of one frame


def _logo() -> bytes:
    """A magenta pill with a white dot, on a transparent margin."""
    image = Image.new("RGBA", (110, 60), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 10, 99, 49), radius=6, fill=(*_MAGENTA, 255))
    draw.ellipse((19, 19, 41, 41), fill="white")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _near(frame: np.ndarray, colour: tuple[int, int, int], tolerance: int = 60) -> np.ndarray:
    distance: np.ndarray = np.abs(frame - np.array(colour)).sum(axis=2)
    return distance < tolerance


async def _finished(client: Client, ad_id: str) -> dict[str, Any]:
    final = (await watch_ad(client, ad_id))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    return final


async def _frames(client: Client, render: dict[str, Any], path: Path) -> list[np.ndarray]:
    response = await client.get(render["downloadUri"])
    assert response.status == 200
    path.write_bytes(await response.read())  # noqa: ASYNC240 (a few kB in a test)
    return [frame_at(path, at_s, _W, _H) for at_s in (1.0, AD_SECONDS - 0.4)]


async def test_the_brand_kit_makes_the_end_card_and_the_watermark(
    client: Client, tmp_path: Path
) -> None:
    upload = await client.post(
        "/api/artifacts", data=_logo(), headers={"Content-Type": "image/png"}
    )
    assert upload.status == 201, await upload.text()
    logo = (await upload.json())["id"]
    brand = {"name": "Lumen Co", "logo": logo, "palette": ["#1040C0", "#FFFFFF"]}
    created = await client.post(
        "/api/ads", json={"brief": BRIEF | {"brand": brand}, "options": {"render": RENDER}}
    )
    assert created.status == 200, await created.text()
    ad = await _finished(client, (await created.json())["id"])

    plain, last = await _frames(client, ad["renders"][0], tmp_path / "carded.mp4")
    # The last 2 s are the card: the brand's colour dominates and the logo is on it.
    assert _near(last, _BLUE).mean() > 0.5 > _near(plain, _BLUE).mean() + 0.3
    assert _near(last, _MAGENTA).sum() > 30 and _near(plain, _MAGENTA).sum() < 30

    again = await client.post(
        f"/api/ads/{ad['id']}/renders",
        json={"options": RENDER | {"watermark": True, "endCard": False}},
    )
    assert again.status == 200, await again.text()
    final = await _finished(client, ad["id"])
    middle, last = await _frames(client, final["renders"][-1], tmp_path / "marked.mp4")
    # The logo in the top-right corner all along, and nothing else changed: the same frame
    # without it differs only there. (Compared with that frame rather than with the logo's
    # colour: at 80 % opacity over the clip, and 4:2:0 chroma on a 20-px mark, the logo's
    # pixels sit near any colour tolerance.)
    changed = np.abs(middle - plain).sum(axis=2) > _CHANGED
    corner = changed[: _H // 3, _W // 2 :].sum()
    assert corner > 30 and corner >= 0.95 * changed.sum(), (corner, changed.sum())
    assert _near(middle, _MAGENTA, tolerance=90)[: _H // 3, _W // 2 :].sum() > 30
    assert _near(last, _BLUE).mean() < 0.2


async def test_an_ad_whose_render_failed_renders_again(client: Client) -> None:
    """A logo id that is not in the store fails the render, not the scenes: the ad can be
    rendered again (here without the card) from the clips it has, paying nothing."""
    brand = {"name": "Lumen Co", "logo": "d" * 64}
    created = await client.post(
        "/api/ads", json={"brief": BRIEF | {"brand": brand}, "options": {"render": RENDER}}
    )
    assert created.status == 200, await created.text()
    failed = (await watch_ad(client, (await created.json())["id"]))[-1]
    assert (failed["state"], failed["step"]) == ("AD_STATE_FAILED", "AD_STEP_COMPOSE")
    assert "end_card.logo" in failed["error"]
    again = await client.post(
        f"/api/ads/{failed['id']}/renders", json={"options": RENDER | {"endCard": False}}
    )
    assert again.status == 200, await again.text()
    final = await _finished(client, failed["id"])
    states = [r["state"] for r in final["renders"]]
    assert states[-1] == "COMPOSITION_STATE_COMPLETED" and len(states) == 2
    assert states[0] in {"COMPOSITION_STATE_FAILED", "COMPOSITION_STATE_CANCELED"}
    clips = [[v["clip"]["id"] for v in s["versions"]] for s in final["storyboard"]]
    assert clips == [[s["clip"]["id"]] for s in failed["storyboard"]]  # kept, none made again
    assert not final.get("error")
