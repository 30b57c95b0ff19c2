"""The brief's product photos and scene-to-scene chaining reach the models through the studio, on
the fake Replicate (strict about each model's published input fields): every seed image carries
the photos in its model's reference field, every clip the next scene's seed image in its model's
last-frame field (not the last clip), and the photos in its reference field where the catalog
lets references go with frames. Field names are read from the catalog, not written here."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reelforge.v1 import common_pb2, studio_pb2
from services.generator.catalog import Kind, ModelEntry, load_catalog
from services.studio import prompts
from tests.animatic.helpers import ORANGE, product_png
from tests.composer.media import frame_at
from tests.fakes.replicate_server import FakeReplicate, Refs
from tests.studio.helpers import (
    BRIEF,
    RENDER,
    AiohttpClient,
    Client,
    gateway_client,
    hosted_generator,
    watch_ad,
    whole_stack,
)

# The production tier's image model (Nano Banana): it takes references.
_IMAGE_MODEL = load_catalog().defaults[Kind.IMAGES, common_pb2.TIER_PRODUCTION]

# A clip model added as data (MODEL_CATALOG_PATH) that takes references together with its first
# and last frames, which no bundled model does.
_KEEPER = "acme/keeper-video"
_EXTRA = f"""
[models."{_KEEPER}"]
kind = "clip"
official = true
inputs = {{ prompt = "prompt", image = "first_frame", last_frame = "end_frame", duration = "duration", seed = "seed" }}
durations = {{ min = 2, max = 12 }}
references = {{ field = "subject_images", max = 4 }}
price = {{ per_second = 0.05 }}
"""
_KEEPER_SCHEMA = {"prompt": str, "first_frame": str, "end_frame": str, "subject_images": Refs(4),
                  "duration": (2, 12), "seed": int}  # fmt: skip
_URL_PHOTO = "https://cdn.example.com/lumen-side.png"  # sent as it is (never fetched here)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 80), (230, 120, 20)).save(out, "PNG")
    return out.getvalue()


def _sent(value: str) -> bytes | str:
    """A stored file as the model got it (a data: URI's bytes), or a URL as it is."""
    if value.startswith("data:"):
        return base64.b64decode(value.split(",", 1)[1])
    return value


def _takes_references_with_frames(entry: ModelEntry) -> bool:
    refs = entry.references
    return refs is not None and not {"image", "last_frame"} & set(refs.excludes)


@pytest.fixture(params=["bytedance/seedance-1-lite", _KEEPER])
def clip_model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def hosted(
    data_dir: Path, tmp_path: Path, fake: FakeReplicate, clip_model: str,
    aiohttp_client: AiohttpClient,
) -> AsyncIterator[Client]:  # fmt: skip
    extra = tmp_path / "models.toml"
    extra.write_text(_EXTRA)
    fake.register_model(_KEEPER, _KEEPER_SCHEMA, required={"prompt"})
    fake.validate_bodies = True
    generator = hosted_generator(fake) | {
        "model_catalog_path": extra,
        "replicate_image_model": _IMAGE_MODEL,
        "replicate_model": clip_model,
    }
    async with whole_stack(data_dir, generator) as stack:
        yield await gateway_client(aiohttp_client, stack)


async def test_product_photos_and_chained_frames_reach_each_model_in_its_fields(
    hosted: Client, fake: FakeReplicate, clip_model: str, tmp_path: Path
) -> None:
    client = hosted
    photo = _photo()
    upload = await client.post("/api/artifacts", data=photo, headers={"Content-Type": "image/png"})
    assert upload.status == 201, await upload.text()
    products = [(await upload.json())["id"], _URL_PHOTO]
    brief = BRIEF | {"productImages": products}
    created = await client.post("/api/ads", json={"brief": brief, "options": {"render": RENDER}})
    assert created.status == 200, await created.text()
    final = (await watch_ad(client, (await created.json())["id"]))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    scenes = final["storyboard"]
    assert len(scenes) >= 2

    catalog = load_catalog(tmp_path / "models.toml")
    inputs: dict[str, list[dict[str, Any]]] = {}
    for prediction in fake.predictions.values():
        inputs.setdefault(prediction.model, []).append(prediction.input)

    # Seed images: the image model's reference field holds the URL photo, then the uploaded one
    # (the request's reference images come before its product photos); mood samples have none.
    image = catalog.entry(_IMAGE_MODEL)
    assert image is not None and image.references is not None
    seeds = [sent for sent in inputs[_IMAGE_MODEL] if image.references.field in sent]
    assert len(seeds) == len(scenes)
    for sent in seeds:
        assert [_sent(v) for v in sent[image.references.field]] == [_URL_PHOTO, photo]

    # Clips, in scene order (their seeds rise with the scene): first frame, the next scene's
    # seed image as the last frame (none for the last scene), and the photos where allowed.
    entry = catalog.entry(clip_model)
    assert entry is not None and entry.durations is not None
    clips = sorted(inputs[clip_model], key=lambda sent: sent[entry.inputs["seed"]])
    assert len(clips) == len(scenes)
    seed_image = await _artifact(client, scenes[0]["seedImage"]["id"])
    for index, sent in enumerate(clips):
        assert _sent(sent[entry.inputs["image"]]) == seed_image
        last_frame = sent.get(entry.inputs["last_frame"])
        if index + 1 < len(scenes):
            assert last_frame is not None and _sent(last_frame) == seed_image, index
        else:
            assert last_frame is None
        assert entry.references is not None  # both models take references…
        refs = sent.get(entry.references.field)
        if _takes_references_with_frames(entry):  # …the added one together with frames
            assert refs is not None and [_sent(v) for v in refs] == [photo, _URL_PHOTO]
        else:  # Seedance 1 lite: the frames win; the seed image was drawn with the photos
            assert refs is None, index


async def _artifact(client: Client, artifact_id: str) -> bytes:
    response = await client.get(f"/api/artifacts/{artifact_id}")
    assert response.status == 200
    return await response.read()


def test_each_clip_ends_on_the_next_scenes_seed_image() -> None:
    """Which seed image each clip is chained to (the fake makes one picture for every seed
    image, so the run above cannot tell them apart): the next scene's, as it is now."""
    photo_id = "a" * 64
    ad = studio_pb2.Ad(brief=common_pb2.CreativeBrief(product_images=[photo_id, _URL_PHOTO]))
    for index in range(3):
        scene = ad.storyboard.add(scene=common_pb2.Scene(index=index, duration_seconds=2))
        scene.seed_image.id = f"{index}" * 64
    specs = [prompts.scene_clip(ad, i, s.seed_image.id) for i, s in enumerate(ad.storyboard)]
    assert [s.last_frame_image for s in specs] == ["1" * 64, "2" * 64, ""]
    assert all(list(s.reference_images) == [photo_id, _URL_PHOTO] for s in specs)
    again = prompts.scene_clip(ad, 1, "f" * 64, version=2)  # a regenerated clip of scene 1
    assert (again.image, again.last_frame_image) == ("f" * 64, "2" * 64)
    image = prompts.scene_image(ad, 0)
    # Uploaded photos are product images (the offline animatic draws them); URLs references.
    assert (list(image.product_images), list(image.reference_images)) == ([photo_id], [_URL_PHOTO])
    assert not image.logo


async def test_an_offline_ad_shows_the_product_photo_in_every_scene(
    client: Client, tmp_path: Path
) -> None:
    """Offline, the animatic draws the hero photo into each seed image, so the product is on
    screen in every scene, not only on the end card. Measured against the same ad without the
    photo (same prompts, seeds and palette; the palette may hold an orange of its own): in the
    middle of each scene, product-orange pixels that the photo put there."""
    photo = product_png(tmp_path / "bottle.png", transparent=True).read_bytes()
    upload = await client.post("/api/artifacts", data=photo, headers={"Content-Type": "image/png"})
    assert upload.status == 201, await upload.text()
    frames: list[list[Any]] = []
    for products in ([(await upload.json())["id"]], []):
        brief = BRIEF | {"productImages": products}
        body = {"brief": brief, "options": {"render": RENDER | {"endCard": False}}}
        created = await client.post("/api/ads", json=body)
        assert created.status == 200, await created.text()
        final = (await watch_ad(client, (await created.json())["id"]))[-1]
        assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
        video = tmp_path / f"ad-{len(frames)}.mp4"
        video.write_bytes(await _artifact(client, final["renders"][0]["output"]["id"]))
        lengths = [s["scene"]["durationSeconds"] for s in final["storyboard"]]
        middles = [sum(lengths[:i]) + lengths[i] / 2 for i in range(len(lengths))]
        frames.append([frame_at(video, at_s, 180, 320) for at_s in middles])
    drawn = [
        int(((abs(a - ORANGE).max(axis=2) <= 24) & (abs(a - b).max(axis=2) > 60)).sum())
        for a, b in zip(*frames, strict=True)
    ]
    assert min(drawn) > 500, drawn  # of 57,600 pixels: the bottle, in every scene
