"""Product photos and the logo through the generator: drawn into offline stills, checked at the
request (artifact ids of PNG/JPEG/WebP files), and sent as references on the fake Replicate."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import generator_pb2 as pb
from services.generator.settings import GeneratorSettings
from tests.animatic.helpers import CYAN, ORANGE, logo_png, product_png
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import generator, wait_for_job
from tests.grpc_helpers import field_violations

_PROMPT = "A sparkling drink on a kitchen table, morning light"


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(latency_s=0.1) as server:
        yield server


def _settings(data_dir: Path, **overrides: Any) -> GeneratorSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": data_dir,
        "replicate_api_token": "",  # auto → the offline animatic
        "animatic_draft_height": 320,
        "poll_initial_s": 0.05,
        "poll_max_s": 0.2,
        "log_format": "text",
    }
    return GeneratorSettings(**{**values, **overrides})


async def _stored(store: ArtifactStore, path: Path, mime_type: str = "image/png") -> str:
    return (await store.put_file(path, mime_type, None)).id


def _count(pixels: Any, colour: tuple[int, int, int], tolerance: int = 8) -> Any:
    return np.all(np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance, axis=-1)


async def test_offline_stills_show_the_product_and_the_logo(data_dir: Path) -> None:
    settings = _settings(data_dir)
    store = ArtifactStore(settings.artifacts_path)
    product = await _stored(store, product_png(data_dir / "p.png", transparent=True))
    logo = await _stored(store, logo_png(data_dir / "logo.png"))
    specs = [
        pb.ImageSpec(
            prompt=_PROMPT, caption="Fresh", seed=seed, product_images=[product], logo=logo
        )
        for seed in (1, 2)
    ]
    async with generator(settings) as stub:
        job = await stub.GenerateImages(pb.GenerateImagesRequest(images=specs), timeout=5)
        job = await wait_for_job(stub, job.id, timeout_s=60)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    for item in job.items:
        with Image.open(store.path_for(item.outputs[0].id)) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
        assert pixels.shape == (320, 180, 3)
        assert _count(pixels, ORANGE).sum() > 2500  # the product, in every scene
        ys, xs = np.nonzero(_count(pixels, CYAN))
        assert len(xs) > 300 and ys.min() >= 0.13 * 320 and xs.max() < 0.83 * 180


async def test_product_and_logo_must_be_stored_raster_images(data_dir: Path) -> None:
    settings = _settings(data_dir)
    store = ArtifactStore(settings.artifacts_path)
    gif = data_dir / "logo.gif"  # SVG is rasterised (tests/generator/test_svg_brand.py)
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    gif_id = await _stored(store, gif, "image/gif")
    png_id = await _stored(store, logo_png(data_dir / "logo.png"))
    spec = pb.ImageSpec(
        prompt=_PROMPT,
        product_images=[png_id, "https://cdn.example.com/p.png", "f" * 64, png_id, png_id],
        logo=gif_id,
    )
    async with generator(settings) as stub:
        call = stub.GenerateImages(pb.GenerateImagesRequest(images=[spec]), timeout=5)
        violations = await field_violations(call)
    assert set(violations) == {
        "images[0].product_images",  # 5 > 4
        "images[0].product_images[1]",  # a URL: the animatic reads the artifact store
        "images[0].product_images[2]",  # well-formed but not stored
        "images[0].logo",  # GIF
    }
    assert "image/gif" in violations["images[0].logo"]
    assert "not found" in violations["images[0].product_images[2]"]


async def test_nano_banana_gets_the_product_photos_as_references(
    data_dir: Path, fake: FakeReplicate
) -> None:
    settings = _settings(
        data_dir,
        replicate_api_token=fake.token,
        replicate_base_url=fake.base_url,
        fetch_allow_networks="127.0.0.0/8",  # the fake serves the outputs on localhost
    )
    store = ArtifactStore(settings.artifacts_path)
    photo = product_png(data_dir / "p.png", transparent=True)
    product = await _stored(store, photo)
    spec = pb.ImageSpec(prompt=_PROMPT, product_images=[product])
    request = pb.GenerateImagesRequest(images=[spec], model="google/nano-banana")
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateImages(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    (prediction,) = fake.predictions.values()
    (reference,) = prediction.input["image_input"]
    assert reference.startswith("data:image/png;base64,")
    assert base64.b64decode(reference.split(",", 1)[1]) == photo.read_bytes()
