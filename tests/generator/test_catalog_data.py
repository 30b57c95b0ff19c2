"""The model catalog as data (``services/generator/models.toml``): checked at start-up, extended
by a file with no code change, references sent in each model's own field names (large ones
through Replicate's files API), durations quantised per model."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from replicate.client import Client
from replicate.exceptions import ReplicateError

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import (
    CatalogError,
    Kind,
    ModelEntry,
    load_catalog,
)
from services.generator.providers.replicate_files import DATA_URI_MAX_BYTES
from tests.fakes.replicate_server import INPUT_SCHEMAS, OFFICIAL_MODELS, FakeReplicate
from tests.generator.helpers import MakeSettings, generator, wait_for_job
from tests.grpc_helpers import field_violations

_ROOT = Path(__file__).resolve().parents[2]
_CATALOG = load_catalog()


def _models(kind: Kind, role: str = "", *, references: bool = False) -> list[ModelEntry]:
    return [
        entry
        for entry in _CATALOG.models.values()
        if entry.kind is kind
        and (not role or entry.field(role))
        and (not references or entry.references)
    ]


def _png(path: Path, size: tuple[int, int], *, noise: bool = False) -> bytes:
    """A PNG: flat (a few hundred bytes) or noise (incompressible: ~3 bytes a pixel)."""
    rng = np.random.default_rng(7)
    pixels = (
        rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        if noise
        else np.full((size[1], size[0], 3), (200, 90, 30), dtype=np.uint8)
    )
    Image.fromarray(pixels).save(path)
    return path.read_bytes()


async def _stored(store: ArtifactStore, path: Path) -> str:
    return (await store.put_file(path, "image/png", None)).id


def _decoded(uri: str) -> bytes:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    return base64.b64decode(uri.split(",", 1)[1])


# ---- the catalog file --------------------------------------------------------------------


def test_every_catalog_field_is_in_the_fakes_published_schema() -> None:
    """The catalog and the fake's schemas (written from Replicate's pages) name the same fields."""
    for name, entry in _CATALOG.models.items():
        schema = INPUT_SCHEMAS[name]
        named = {*entry.inputs.values(), *entry.fixed, *entry.image_fields}
        named |= {key for fixed in entry.fixed_by_tier.values() for key in fixed}
        assert named <= set(schema), (name, named - set(schema))
        assert entry.official == (name in OFFICIAL_MODELS), name


@pytest.mark.parametrize(
    ("entry_text", "named"),
    [
        ('kind = "clip"\ninputs = { prompt = "prompt" }\ndurations = { min = 5, max = 2 }\n'
         'price = { per_second = 0.1 }', 'models."acme/broken".durations'),
        ('kind = "film"\ninputs = { prompt = "prompt" }\nprice = { per_image = 0.1 }',
         'models."acme/broken".kind'),
        ('kind = "image"\ninputs = { prompt = "prompt", colour = "c" }\nprice = { per_image = 1 }',
         'models."acme/broken".inputs: unknown key \'colour\''),
        ('kind = "image"\ninputs = { prompt = "prompt" }\nprice = { per_image = 0.1, per_char = 1 }',
         'models."acme/broken".price'),
        ('kind = "clip"\ninputs = { prompt = "p", resolution = "r" }\ndurations = { allowed = [5] }\n'
         'resolutions = { draft = "480p", production = "4k" }\nprice = { per_second = { "480p" = 1 } }',
         'models."acme/broken".price.per_second: no price for resolution \'4k\''),
        ('kind = "image"\ninputs = { prompt = "p" }\nprice = { per_image = 1 }\n'
         'references = { field = "refs", max = 0 }', 'models."acme/broken".references.max'),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_naming_it(tmp_path: Path, entry_text: str, named: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(f'[models."acme/broken"]\n{entry_text}\n')
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    assert str(path) in str(error.value) and named in str(error.value)


def test_a_bad_catalog_stops_the_service_at_start_up(tmp_path: Path) -> None:
    """What an operator sees: the process exits at once with one line naming the entry."""
    path = tmp_path / "extra.toml"
    path.write_text(
        '[models."acme/clip"]\nkind = "clip"\ninputs = { prompt = "prompt" }\n'
        "durations = { allowed = [] }\nprice = { per_second = 0.05 }\n"
    )
    env = {**os.environ, "MODEL_CATALOG_PATH": str(path), "DATA_DIR": str(tmp_path), "PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "services.generator"],
        cwd=_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "MODEL_CATALOG_PATH" in done.stderr
    assert 'models."acme/clip".durations.allowed' in done.stderr, done.stderr


def test_a_default_must_be_a_catalog_model_of_its_kind(tmp_path: Path) -> None:
    path = tmp_path / "extra.toml"
    path.write_text('[defaults.clip]\ndraft = "google/nano-banana"\n')
    with pytest.raises(CatalogError, match=r"defaults\.clips\.draft: 'google/nano-banana'"):
        load_catalog(path)


# ---- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "requested", "sent"),
    [
        ("minimax/hailuo-02", 5.5, 6),
        ("minimax/hailuo-02", 6.0, 6),
        ("minimax/hailuo-02", 7.0, 10),  # the nearest accepted value ≥ the request
        ("minimax/hailuo-02", 14.0, 10),  # else the longest
        ("google/veo-3.1-fast", 3.0, 4),
        ("google/veo-3.1-fast", 5.0, 6),
        ("google/veo-3.1-fast", 9.0, 8),
        ("kwaivgi/kling-v2.5-turbo-pro", 5.2, 10),
        ("bytedance/seedance-1-lite", 1.0, 2),
        ("bytedance/seedance-1-lite", 4.2, 5),
        ("bytedance/seedance-1-lite", 20.0, 12),
        ("bytedance/seedance-2.0", 3.0, 4),
        ("wan-video/wan-2.7-i2v", 15.0, 15),
    ],
)
def test_durations_are_quantised_per_model(model: str, requested: float, sent: int) -> None:
    durations = _CATALOG.models[model].durations
    assert durations is not None and durations.quantise(requested) == sent


async def test_the_estimate_reports_the_quantised_duration(make_settings: MakeSettings) -> None:
    clips = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="pour", duration_seconds=7), pb.ClipSpec(prompt="cap", duration_seconds=3)],
        model="minimax/hailuo-02",
        provider="replicate",
    )  # fmt: skip
    async with generator(make_settings()) as stub:
        answer = await stub.EstimateCost(pb.EstimateCostRequest(clips=clips), timeout=5)
    assert [item.duration_seconds for item in answer.items] == [10, 6]
    assert answer.items[0].basis == "10 s × $0.0166/s (512P)"
    assert answer.estimated_cost_micros == 16 * 16_600


async def test_an_aspect_ratio_the_model_does_not_make_is_refused_naming_it(
    make_settings: MakeSettings,
) -> None:
    request = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="pour", duration_seconds=4)],
        model="google/veo-3.1-fast",
        aspect_ratio=common_pb2.ASPECT_RATIO_1_1,
    )
    async with generator(make_settings()) as stub:
        violations = await field_violations(stub.GenerateClips(request, timeout=5))
    assert violations == {"aspect_ratio": "google/veo-3.1-fast makes 16:9, 9:16 only (not 1:1)"}


# ---- a model added as data ---------------------------------------------------------------

_EXTRA = """
[models."acme/clipmaker-video"]
kind = "clip"
official = true
inputs = { prompt = "text_prompt", image = "init_image", duration = "length_s", resolution = "quality" }
fixed = { watermark = false }
durations = { allowed = [3, 9] }
resolutions = { draft = "low", production = "high" }
price = { per_second = { low = 0.01, high = 0.02 } }
"""


def _add_clipmaker(tmp_path: Path, fake: FakeReplicate) -> Path:
    """The catalog file adding acme/clipmaker-video, and the model on the fake with Replicate's
    published schema (the fake refuses any other field)."""
    path = tmp_path / "extra.toml"
    path.write_text(_EXTRA)
    fake.register_model(
        "acme/clipmaker-video",
        {"text_prompt": str, "init_image": str, "length_s": frozenset({3, 9}),
         "quality": ("low", "high"), "watermark": bool},
        required={"text_prompt"},
    )  # fmt: skip
    return path


async def test_a_model_added_in_a_catalog_file_runs_with_no_code_change(
    tmp_path: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    path = _add_clipmaker(tmp_path, fake)
    fake.validate_bodies = True
    settings = make_settings(model_catalog_path=path, replicate_model="acme/clipmaker-video")
    request = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="a bottle spins", duration_seconds=4)]
    )
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateClips(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert job.model == "acme/clipmaker-video"
    (prediction,) = fake.predictions.values()
    assert prediction.model == "acme/clipmaker-video"
    assert prediction.input == {
        "text_prompt": "a bottle spins", "length_s": 9, "quality": "low", "watermark": False,
    }  # fmt: skip
    assert job.items[0].estimated_cost_micros == 9 * 10_000
    # What it cost is priced from the file too (it was 0: the bundled catalog has no entry).
    assert job.items[0].actual_cost_micros == 9 * 10_000
    assert job.actual_cost_micros == 9 * 10_000


async def test_a_request_may_name_a_model_added_in_a_catalog_file(
    tmp_path: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    """Not only the default: a request naming the added model is accepted, estimated and
    priced from the file (the servicer checked names against the bundled catalog only)."""
    path = _add_clipmaker(tmp_path, fake)
    settings = make_settings(model_catalog_path=path)
    request = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="a bottle spins", duration_seconds=2)],
        model="acme/clipmaker-video",
    )
    async with generator(settings) as stub:
        estimate = await stub.EstimateCost(pb.EstimateCostRequest(clips=request), timeout=5)
        job = await wait_for_job(stub, (await stub.GenerateClips(request, timeout=5)).id)
    assert estimate.estimated_cost_micros == 3 * 10_000
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    (prediction,) = fake.predictions.values()
    assert prediction.model == "acme/clipmaker-video"
    assert prediction.input["length_s"] == 3


async def test_clip_references_must_name_stored_artifacts(make_settings: MakeSettings) -> None:
    missing = "0" * 64
    spec = pb.ClipSpec(prompt="p", duration_seconds=4, reference_images=[missing],
                       last_frame_image=missing)  # fmt: skip
    async with generator(make_settings()) as stub:
        call = stub.GenerateClips(pb.GenerateClipsRequest(clips=[spec]), timeout=5)
        violations = await field_violations(call)
    assert set(violations) >= {
        "clips[0].reference_images[0]", "clips[0].last_frame_image",
    }  # fmt: skip


async def test_a_model_override_outside_the_catalog_stops_start_up(
    make_settings: MakeSettings,
) -> None:
    with pytest.raises(ValueError, match="'acme/clipmaker-video' is not a clips model"):
        make_settings(replicate_model="acme/clipmaker-video")


# ---- references in each model's field names ----------------------------------------------


async def test_image_models_get_product_photos_and_logo_in_their_reference_field(
    data_dir: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.validate_bodies = True
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    photo = _png(data_dir / "photo.png", (60, 90))
    logo = _png(data_dir / "logo.png", (90, 30))
    spec = pb.ImageSpec(
        prompt="the bottle on a beach",
        product_images=[await _stored(store, data_dir / "photo.png")],
        logo=await _stored(store, data_dir / "logo.png"),
    )
    models = _models(Kind.IMAGES, references=True)
    assert {"google/nano-banana", "bytedance/seedream-4.5"} <= {m.name for m in models}
    async with generator(settings) as stub:
        jobs = [
            await stub.GenerateImages(pb.GenerateImagesRequest(images=[spec], model=m.name), timeout=5)
            for m in models
        ]  # fmt: skip
        done = await asyncio.gather(*(wait_for_job(stub, job.id) for job in jobs))
    for entry, job in zip(models, done, strict=True):
        assert job.state == pb.JOB_STATE_SUCCEEDED, (entry.name, job.error)
        sent = fake.predictions[job.items[0].prediction_id].input
        assert entry.references is not None
        assert [_decoded(uri) for uri in sent[entry.references.field]] == [photo, logo], entry.name


async def test_clip_models_get_references_or_first_and_last_frames_in_their_fields(
    data_dir: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    """Models that take references get them for a clip without frames; every model that takes
    a last frame gets the first and last frames in its own field names."""
    fake.validate_bodies = True
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    first, last, product = (_png(data_dir / f"{n}.png", (36, 64 + i)) for i, n in enumerate("flp"))
    ids = [await _stored(store, data_dir / f"{n}.png") for n in "flp"]
    with_refs = _models(Kind.CLIPS, references=True)
    with_last = _models(Kind.CLIPS, "last_frame")
    assert {"bytedance/seedance-1-lite", "google/veo-3.1-fast"} <= {m.name for m in with_refs}
    assert {"minimax/hailuo-02", "kwaivgi/kling-v2.5-turbo-pro"} <= {m.name for m in with_last}
    refs_spec = pb.ClipSpec(
        prompt="the bottle turns", duration_seconds=4, reference_images=[ids[2]]
    )
    frames_spec = pb.ClipSpec(prompt="the bottle turns", duration_seconds=4, image=ids[0],
                              last_frame_image=ids[1], reference_images=[ids[2]])  # fmt: skip
    runs = [(m, refs_spec) for m in with_refs] + [(m, frames_spec) for m in with_last]
    async with generator(settings) as stub:
        jobs = [
            await stub.GenerateClips(pb.GenerateClipsRequest(clips=[spec], model=m.name, tier=common_pb2.TIER_PRODUCTION), timeout=5)
            for m, spec in runs
        ]  # fmt: skip
        done = await asyncio.gather(*(wait_for_job(stub, job.id) for job in jobs))
    for (entry, spec), job in zip(runs, done, strict=True):
        assert job.state == pb.JOB_STATE_SUCCEEDED, (entry.name, job.error)
        sent = fake.predictions[job.items[0].prediction_id].input
        assert entry.references is not None or spec is frames_spec
        if spec is refs_spec:
            assert entry.references is not None
            assert [_decoded(uri) for uri in sent[entry.references.field]] == [product]
            if entry.references.resolutions:  # Seedance 1 lite: 720p at most with references
                assert sent[entry.inputs["resolution"]] == entry.references.resolutions[-1]
            continue
        assert _decoded(sent[entry.inputs["image"]]) == first, entry.name
        assert _decoded(sent[entry.inputs["last_frame"]]) == last, entry.name
        excluded = entry.references is not None and entry.references.excludes
        if entry.references is not None:
            assert (entry.references.field in sent) != bool(excluded), entry.name


async def test_a_large_reference_goes_through_the_files_api(
    data_dir: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    large = _png(data_dir / "large.png", (400, 400), noise=True)
    small = _png(data_dir / "small.png", (40, 40))
    assert len(large) > 256 * 1024 and len(small) < 10_000
    ids = [await _stored(store, data_dir / name) for name in ("large.png", "small.png")]
    request = pb.GenerateImagesRequest(
        images=[pb.ImageSpec(prompt=f"bottle {i}", product_images=ids) for i in range(2)],
        model="google/nano-banana",
    )
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateImages(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    (upload,) = fake.files.values()  # one upload, reused by both items
    assert upload.content == large and upload.content_type == "image/png"
    assert upload.metadata == {"sha256": ids[0]}
    for item in job.items:
        sent = fake.predictions[item.prediction_id].input["image_input"]
        assert sent[0] == f"{fake.base_url}/v1/files/{upload.id}"
        assert _decoded(sent[1]) == small


async def test_a_refused_upload_fails_the_item_with_replicates_reason(
    data_dir: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.file_limit_bytes = 200 * 1024
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    _png(data_dir / "large.png", (400, 400), noise=True)
    spec = pb.ImageSpec(
        prompt="bottle", product_images=[await _stored(store, data_dir / "large.png")]
    )
    request = pb.GenerateImagesRequest(images=[spec], model="google/nano-banana")
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateImages(request, timeout=5)).id)
    assert job.state == pb.JOB_STATE_FAILED
    assert "at most 204800 bytes" in job.items[0].error
    assert fake.creates == 0 and not fake.files


# ---- the fake's files API and input checks, through the official client ------------------


async def test_the_fakes_files_api_is_strict(fake: FakeReplicate) -> None:
    client = Client(api_token=fake.token, base_url=fake.base_url)
    made = await client.files.async_create(io.BytesIO(b"\x89PNG..."), filename="a.png",
                                           content_type="image/png", metadata={"k": "v"})  # fmt: skip
    assert (made.name, made.content_type, made.size, made.metadata) == (
        "a.png",
        "image/png",
        7,
        {"k": "v"},
    )
    assert made.urls["get"] == f"{fake.base_url}/v1/files/{made.id}"
    fake.file_limit_bytes = 4
    with pytest.raises(ReplicateError) as too_large:
        await client.files.async_create(io.BytesIO(b"12345"), filename="b.bin")
    assert too_large.value.status == 413
    assert len(fake.files) == 1


@pytest.mark.parametrize(
    ("model_input", "reason"),
    [
        ({"prompt": "x", "colour": "red"}, "Additional property colour is not allowed"),
        ({"prompt": "x", "image_input": ["data:image/png;base64," + "A" * DATA_URI_MAX_BYTES]},
         "image_input: data URIs must be at most 256 KB"),
        ({"prompt": "x", "image_input": ["{base}/v1/files/nope"]}, "image_input: no such file"),
    ],
)  # fmt: skip
async def test_the_fake_refuses_inputs_the_real_api_refuses(
    fake: FakeReplicate, model_input: dict[str, object], reason: str
) -> None:
    client = Client(api_token=fake.token, base_url=fake.base_url)
    sent = {
        key: [v.format(base=fake.base_url) for v in value] if isinstance(value, list) else value
        for key, value in model_input.items()
    }
    with pytest.raises(ReplicateError) as refused:
        await client.models.predictions.async_create(model="google/nano-banana", input=sent)
    assert refused.value.status == 422
    assert reason in str(refused.value.detail)
    assert fake.creates == 0
