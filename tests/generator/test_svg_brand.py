"""SVG product photos and logos: drawn by the offline animatic, sent to hosted models as PNG."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import generator_pb2 as pb
from services.generator.providers.replicate_files import SVG_SEND_WIDTH
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, generator, wait_for_job

_MAGENTA, _GREEN = (255, 0, 255), (0, 255, 0)
_PALETTE = ["#1e3a5f", "#f2c14e"]


def _svg(fill: str, body: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">'
        f'<circle cx="50" cy="50" r="40" fill="{fill}"/>{body}</svg>'
    ).encode()


def _near(img: Image.Image, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many pixels are within ``tolerance`` of ``colour`` on every channel."""
    px = np.asarray(img.convert("RGB"), dtype=np.int16)
    return int((np.abs(px - np.array(colour)).max(axis=2) <= tolerance).sum())


async def _still(stub: Stub, spec: pb.ImageSpec) -> pb.Job:
    request = pb.GenerateImagesRequest(images=[spec])
    return await wait_for_job(stub, (await stub.GenerateImages(request, timeout=5)).id)


async def test_offline_still_draws_an_svg_product_and_logo(make_settings: MakeSettings) -> None:
    settings = make_settings(replicate_api_token="")  # auto → animatic
    store = ArtifactStore(settings.artifacts_path)
    product = await store.put_bytes(_svg("#ff00ff"), "image/svg+xml")
    logo = await store.put_bytes(_svg("#00ff00"), "image/svg+xml")
    spec = pb.ImageSpec(
        prompt="a bottle", color_palette=_PALETTE, product_images=[product.id], logo=logo.id
    )
    async with generator(settings) as stub:
        job = await _still(stub, spec)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    with Image.open(store.path_for(job.items[0].outputs[0].id)) as still:
        assert still.size == (180, 320)
        assert _near(still, _MAGENTA) > 1500, "the product's circle is drawn as the hero"
        assert _near(still, _GREEN) > 40, "the logo's circle is drawn in its corner"


async def test_offline_svg_draws_nothing_from_outside(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    """An SVG naming a server file (absolute and relative) and a script: the still is drawn,
    the file's pixels are not in it, the script does nothing."""
    secret = tmp_path / "secret.png"
    Image.new("RGB", (100, 100), _GREEN).save(secret)
    body = (
        f'<image x="0" y="0" width="100" height="100" xlink:href="file://{secret}"/>'
        '<image x="0" y="0" width="100" height="100" xlink:href="secret.png"/>'
        "<script>document.documentElement.remove()</script>"
    )
    settings = make_settings(replicate_api_token="")
    store = ArtifactStore(settings.artifacts_path)
    product = await store.put_bytes(_svg("#ff00ff", body), "image/svg+xml")
    spec = pb.ImageSpec(prompt="a bottle", color_palette=_PALETTE, product_images=[product.id])
    async with generator(settings) as stub:
        job = await _still(stub, spec)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    with Image.open(store.path_for(job.items[0].outputs[0].id)) as still:
        assert _near(still, _MAGENTA) > 1500
        assert _near(still, _GREEN, tolerance=8) == 0, "the server's file was drawn"


def _png_of(value: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert value.startswith(prefix), value[:40]
    data = base64.b64decode(value[len(prefix) :])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


async def test_hosted_models_get_an_svg_as_png(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    svg = await store.put_bytes(_svg("#ff00ff"), "image/svg+xml")
    image = pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt="a bottle", product_images=[svg.id], logo=svg.id)],
        provider="replicate",
        model="google/nano-banana",
    )
    clip = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="turn", reference_images=[svg.id], duration_seconds=1)],
        provider="replicate",
        model="bytedance/seedance-1-lite",
    )
    async with generator(settings) as stub:
        image_job = await wait_for_job(stub, (await stub.GenerateImages(image, timeout=5)).id)
        clip_job = await wait_for_job(stub, (await stub.GenerateClips(clip, timeout=5)).id)
    assert image_job.state == pb.JOB_STATE_SUCCEEDED, image_job.error
    assert clip_job.state == pb.JOB_STATE_SUCCEEDED, clip_job.error
    sent = fake.predictions[image_job.items[0].prediction_id].input["image_input"]
    sent += fake.predictions[clip_job.items[0].prediction_id].input["reference_images"]
    assert len(sent) == 3
    for value in sent:
        png = _png_of(value)
        assert png.size == (SVG_SEND_WIDTH, SVG_SEND_WIDTH) and png.mode == "RGBA"
        assert _near(png, _MAGENTA) > 0


async def test_a_large_svg_is_uploaded_as_png(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    """Rasterised noise is larger than a data: URI may be: the PNG goes through /v1/files."""
    noise = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<filter id="n"><feTurbulence type="fractalNoise" baseFrequency="0.9" numOctaves="3"/>'
        b'</filter><rect width="100" height="100" filter="url(#n)"/></svg>'
    )
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    svg = await store.put_bytes(noise, "image/svg+xml")
    request = pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt="a bottle", product_images=[svg.id])],
        provider="replicate",
        model="google/nano-banana",
    )
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateImages(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    (upload,) = fake.files.values()
    assert upload.content_type == "image/png" and upload.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert upload.name.endswith(".png") and len(upload.content) > 256 * 1024
    assert Image.open(io.BytesIO(upload.content)).size == (SVG_SEND_WIDTH, SVG_SEND_WIDTH)
    sent = fake.predictions[job.items[0].prediction_id].input["image_input"]
    assert sent == [f"{fake.base_url}/v1/files/{upload.id}"]
