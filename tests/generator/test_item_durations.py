"""``JobItem.duration_seconds``: a clip's or a track's planned length (the request's, quantised to
what its model accepts: the catalog's, with MODEL_CATALOG_PATH's models), from the answer to the
create on; a voice line's is its audio's length once made; an image has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import probe
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind, load_catalog
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, generator, wait_for_job

_EXTRA = """
[models."acme/clipmaker-video"]
kind = "clip"
official = true
inputs = { prompt = "text_prompt", duration = "length_s" }
durations = { allowed = [3, 9] }
price = { per_second = 0.01 }
"""


def _accepted(model: str, seconds: float) -> int:
    """What the bundled catalog's entry quantises ``seconds`` to."""
    entry = load_catalog().entry(model)
    assert entry is not None and entry.durations is not None
    return entry.durations.quantise(seconds)


async def test_items_carry_their_planned_length(
    tmp_path: Path, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    path = tmp_path / "extra.toml"
    path.write_text(_EXTRA)
    fake.register_model(
        "acme/clipmaker-video", {"text_prompt": str, "length_s": frozenset({3, 9})},
        required={"text_prompt"},
    )  # fmt: skip
    settings = make_settings(model_catalog_path=path)
    catalog = settings.model_catalog
    clip_model = catalog.defaults[Kind.CLIPS, common_pb2.TIER_DRAFT]  # the development default
    clips = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="a bottle spins", duration_seconds=s) for s in (2.4, 4.01)]
    )
    added = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="a bottle spins", duration_seconds=4)],
        model="acme/clipmaker-video",
    )
    music = pb.GenerateMusicRequest(prompt="upbeat synth", duration_seconds=3.5)
    voice = pb.GenerateVoiceRequest(lines=[pb.VoiceLine(text="Drink more water today.")])
    images = pb.GenerateImagesRequest(images=[pb.ImageSpec(prompt="a bottle")])
    async with generator(settings) as stub:
        answers = [
            await stub.GenerateClips(clips, timeout=5),
            await stub.GenerateClips(added, timeout=5),
            await stub.GenerateMusic(music, timeout=5),
            await stub.GenerateVoice(voice, timeout=5),
            await stub.GenerateImages(images, timeout=5),
        ]
        done = [await wait_for_job(stub, answer.id) for answer in answers]
    assert all(job.state == pb.JOB_STATE_SUCCEEDED for job in done), [j.error for j in done]
    clip_job, added_job, music_job, voice_job, image_job = done
    model = clip_job.model
    assert model == clip_model
    planned = [_accepted(model, 2.4), _accepted(model, 4.01)]
    # Known from the answer to the create on, and kept once the item is made.
    assert [i.duration_seconds for i in answers[0].items] == planned
    assert [i.duration_seconds for i in clip_job.items] == planned
    # A model the catalog file added: its own accepted lengths (4 s → 9).
    assert answers[1].items[0].duration_seconds == added_job.items[0].duration_seconds == 9
    track = _accepted(music_job.model, 3.5)
    assert answers[2].items[0].duration_seconds == music_job.items[0].duration_seconds == track
    # A voice line has no planned length: 0 until spoken, then its audio's length.
    assert answers[3].items[0].duration_seconds == 0
    audio = ArtifactStore(settings.artifacts_path).path_for(voice_job.items[0].outputs[0].id)
    seconds = (await probe(audio)).duration_seconds
    assert voice_job.items[0].duration_seconds == pytest.approx(seconds, abs=0.01)
    assert voice_job.items[0].duration_seconds > 0
    assert image_job.items[0].duration_seconds == 0
