"""The fake Replicate's strict modes behave as the real API does (issue 18 item 6)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from reelforge.runtime.media import probe
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import NOT_PERMITTED, FakeReplicate, Timing
from tests.generator.helpers import MakeSettings, generator, wait_for_job
from tests.helpers import wait_until

SEEDANCE = "/v1/models/bytedance/seedance-1-lite/predictions"
GOOD_INPUT = {"prompt": "a bottle", "duration": 2, "resolution": "480p", "aspect_ratio": "9:16"}


@pytest.fixture
async def http(fake: FakeReplicate) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with aiohttp.ClientSession(base_url=fake.base_url, headers=headers) as session:
        yield session


async def _post(
    http: aiohttp.ClientSession, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], aiohttp.typedefs.LooseHeaders]:
    async with http.post(path, json=body, headers=headers) as answer:
        return answer.status, await answer.json(content_type=None), answer.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": GOOD_INPUT, "webhook_url": "x"}, "webhook_url"),
        ({"input": {**GOOD_INPUT, "duration": "5"}}, "input.duration"),
        ({"input": {**GOOD_INPUT, "duration": 30}}, "input.duration"),
        ({"input": {**GOOD_INPUT, "sharpness": 3}}, "input.sharpness"),
        ({"input": {"duration": 2}}, "input.prompt"),
        ({"input": GOOD_INPUT, "webhook_events_filter": ["done"]}, "webhook_events_filter"),
    ],
)
async def test_bodies_off_the_schema_are_refused_like_replicate(
    fake: FakeReplicate, http: aiohttp.ClientSession, body: dict[str, Any], field: str
) -> None:
    fake.validate_bodies = True
    status, problem, _ = await _post(http, SEEDANCE, body)
    assert status == 422 and problem["title"] == "Input validation failed"
    assert [entry["field"] for entry in problem["invalid_fields"]] == [field]
    assert fake.creates == 0
    status, _, _ = await _post(http, SEEDANCE, {"input": GOOD_INPUT})
    assert status == 201 and fake.creates == 1


SPEECH = "/v1/models/minimax/speech-2.6-turbo/predictions"
SPEECH_INPUT = {"text": "Hello there. Buy now!", "voice_id": "Wise_Woman", "subtitle_enable": True}


@pytest.mark.parametrize(
    ("model_input", "field"),
    [
        ({**SPEECH_INPUT, "speed": 2.5}, "input.speed"),
        ({**SPEECH_INPUT, "text": "a" * 10_001}, "input.text"),
        ({**SPEECH_INPUT, "language_boost": "en"}, "input.language_boost"),
        ({**SPEECH_INPUT, "prompt": "x"}, "input.prompt"),
        ({"voice_id": "Wise_Woman"}, "input.text"),
    ],
)
async def test_speech_bodies_off_the_schema_are_refused(
    fake: FakeReplicate, http: aiohttp.ClientSession, model_input: dict[str, Any], field: str
) -> None:
    fake.validate_bodies = True
    status, problem, _ = await _post(http, SPEECH, {"input": model_input})
    assert status == 422 and [entry["field"] for entry in problem["invalid_fields"]] == [field]
    assert fake.creates == 0


async def test_speech_answers_in_the_models_output_shape(
    fake: FakeReplicate, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    fake.validate_bodies = True
    status, created, _ = await _post(http, SPEECH, {"input": {**SPEECH_INPUT, "speed": 1.2}})
    assert status == 201
    await fake.predictions[created["id"]].done.wait()
    async with http.get(f"/v1/predictions/{created['id']}") as answer:
        done = await answer.json()
    # The published output schema: one audio URI; the sentence timings are in the logs.
    assert isinstance(done["output"], str) and done["output"].endswith(".mp3")
    entries = json.loads(done["logs"].split("subtitles: ", 1)[1])
    assert [e["text"] for e in entries] == ["Hello there.", "Buy now!"]
    assert [(e["text_begin"], e["text_end"]) for e in entries] == [(0, 12), (13, 21)]
    assert 0 <= entries[0]["time_begin"] < entries[0]["time_end"] < entries[1]["time_begin"]
    async with aiohttp.ClientSession() as plain, plain.get(done["output"]) as answer:
        assert answer.content_type == "audio/mpeg"
        audio = tmp_path / "speech.mp3"
        audio.write_bytes(await answer.read())
    info = await probe(audio)
    assert info.has_audio and entries[1]["time_end"] / 1000 <= info.duration_seconds + 0.05


async def test_non_official_model_by_name_is_refused(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    status, problem, _ = await _post(
        http, "/v1/models/meta/musicgen/predictions", {"input": {"prompt": "x"}}
    )
    assert (status, problem["title"], problem["detail"]) == (
        422,
        "Invalid version or not permitted",
        NOT_PERMITTED,
    )
    async with http.get("/v1/models/meta/musicgen") as answer:
        version = (await answer.json())["latest_version"]["id"]
    status, created, _ = await _post(
        http, "/v1/predictions", {"version": f"meta/musicgen:{version}", "input": {"prompt": "x"}}
    )
    assert status == 201 and created["model"] == "meta/musicgen"


@pytest.mark.parametrize("value", ["2s", "soon", "5"])
async def test_bad_cancel_after_is_refused(http: aiohttp.ClientSession, value: str) -> None:
    status, problem, _ = await _post(http, SEEDANCE, {"input": GOOD_INPUT}, {"Cancel-After": value})
    assert status == 422 and "Cancel-After" in problem["detail"]


async def test_cancel_after_aborts_a_queued_prediction(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    fake.latency_s = 3600  # still queued when its 5 s deadline passes
    status, created, _ = await _post(http, SEEDANCE, {"input": GOOD_INPUT}, {"Cancel-After": "5s"})
    assert status == 201
    prediction = fake.predictions[created["id"]]
    await wait_until(lambda: prediction.terminal, what="the deadline", timeout_s=30)
    assert prediction.status == "aborted"


async def test_list_is_late_and_leaves_fields_out(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    fake.list_delay_s = 3600
    await _post(http, SEEDANCE, {"input": GOOD_INPUT, "webhook": "https://example.test/h"})
    async with http.get("/v1/predictions") as answer:
        assert (await answer.json())["results"] == [], "a new prediction shows only later"
    fake.list_delay_s = 0
    await _post(http, SEEDANCE, {"input": GOOD_INPUT, "webhook": "https://example.test/h"})
    async with http.get("/v1/predictions") as answer:
        (listed,) = (await answer.json())["results"]
    assert "input" not in listed and "webhook" not in listed and listed["status"]
    async with http.get(f"/v1/predictions/{listed['id']}") as answer:
        full = await answer.json()
    assert full["input"] == GOOD_INPUT and full["webhook"] == "https://example.test/h"


async def test_rate_limit_answers_the_real_429(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    fake.create_limit = (2, 3600)
    answers = [await _post(http, SEEDANCE, {"input": GOOD_INPUT}) for _ in range(3)]
    assert [status for status, _, _ in answers] == [201, 201, 429]
    _, problem, headers = answers[2]
    assert problem["detail"] == "Request was throttled. Your rate limit resets in ~30s."
    assert "Retry-After" not in headers
    assert fake.creates == 2


async def test_outputs_expire(fake: FakeReplicate, http: aiohttp.ClientSession) -> None:
    fake.output_ttl_s = 0.0
    _, created, _ = await _post(http, SEEDANCE, {"input": GOOD_INPUT})
    fake.finish_now()
    url = fake.predictions[created["id"]].output
    async with http.get(f"/v1/predictions/{created['id']}") as answer:
        seen = await answer.json()
    assert seen["status"] == "succeeded" and seen["output"] is None and seen["data_removed"]
    async with aiohttp.ClientSession() as plain, plain.get(url) as answer:
        assert answer.status == 404


async def test_slow_cancel_still_shows_it_running(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    fake.latency_s = 3600
    fake.cancel_delay_s = 0.3
    _, created, _ = await _post(http, SEEDANCE, {"input": GOOD_INPUT})
    _, answer, _ = await _post(http, f"/v1/predictions/{created['id']}/cancel", None)
    assert answer["status"] in ("starting", "processing")
    prediction = fake.predictions[created["id"]]
    await wait_until(lambda: prediction.status == "canceled", what="the cancel taking effect")


async def test_queueing_runs_one_at_a_time(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    fake.latency_s = 0.1
    fake.timing = Timing(seed=3, max_running=1, cold_start_rate=0.5, cold_start_s=0.1)
    for _ in range(3):
        await _post(http, SEEDANCE, {"input": GOOD_INPUT})
    await wait_until(lambda: all(p.terminal for p in fake.predictions.values()), what="3 ends")
    runs = sorted((p.started_at or 0, p.completed_at or 0) for p in fake.predictions.values())
    for (_, ended), (started, _) in itertools.pairwise(runs):
        assert started >= ended, f"two ran at once: {runs}"


async def test_generator_passes_the_strict_fake(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.strict(seed=5)
    clip_request = pb.GenerateClipsRequest(
        clips=[pb.ClipSpec(prompt="wide", duration_seconds=5)],
        aspect_ratio=common_pb2.ASPECT_RATIO_16_9,
    )
    async with generator(make_settings(list_consistency_s=2)) as stub:
        jobs = [
            await stub.GenerateClips(clip_request, timeout=5),
            await stub.GenerateImages(
                pb.GenerateImagesRequest(images=[pb.ImageSpec(prompt="x", seed=3)]), timeout=5
            ),
            await stub.GenerateMusic(
                pb.GenerateMusicRequest(prompt="calm", duration_seconds=8), timeout=5
            ),
        ]
        done = [await wait_for_job(stub, job.id, timeout_s=60) for job in jobs]
    for job in done:
        assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    clip = done[0].items[0].outputs[0]
    assert clip.width > clip.height, "the clip has the aspect that was asked for"
    assert clip.duration_seconds == pytest.approx(5, abs=0.3)
    assert fake.creates == 3


async def test_modes_can_be_set_from_another_process(
    fake: FakeReplicate, http: aiohttp.ClientSession
) -> None:
    control = {"strict": True, "seed": 4, "answer_creates": False, "create_limit": [5, 60]}
    status, _, _ = await _post(http, "/_fake/control", control)
    assert status == 200
    assert fake.validate_bodies and fake.list_delay_s >= 1 and fake.webhook_chaos is not None
    assert not fake.answer_creates and fake.create_limit == (5, 60.0)
    async with http.get("/_fake/stats") as answer:
        stats = await answer.json()
    assert stats["creates"] == 0 and stats["gets"] == 0
