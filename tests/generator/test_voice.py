"""The voice kind: offline espeak-ng speech with its own word timings, hosted MiniMax speech on the
fake Replicate with word timings derived inside its sentence timings, costs, the cache and the
request rules."""

from __future__ import annotations

import re

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import probe
from reelforge.v1 import common_pb2
from reelforge.v1 import generator_pb2 as pb
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, generator, wait_for_job
from tests.grpc_helpers import field_violations

LINES = ["Meet Lumen, the bottle that cleans itself.", "Shop now! Free shipping today."]


def _words_of(text: str) -> list[str]:
    return [w.strip("\"'.,;:!?") for w in text.split()]


def _voice(*lines: str, **fields: object) -> pb.GenerateVoiceRequest:
    return pb.GenerateVoiceRequest(lines=[pb.VoiceLine(text=t) for t in lines], **fields)  # type: ignore[arg-type]


def _assert_timed_in_order(item: pb.JobItem, line: str) -> None:
    assert [w.word for w in item.words] == _words_of(line)
    for word, following in zip(item.words, item.words[1:], strict=False):
        assert word.start_seconds < word.end_seconds <= following.start_seconds


async def test_offline_voice_speaks_each_line_with_word_timings(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(replicate_api_token="")  # auto → animatic
    store = ArtifactStore(settings.artifacts_path)
    async with generator(settings) as stub:
        job = await wait_for_job(stub, (await stub.GenerateVoice(_voice(*LINES), timeout=5)).id)
        again = await wait_for_job(stub, (await stub.GenerateVoice(_voice(*LINES), timeout=5)).id)

    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert (job.kind, job.model, job.actual_cost_micros) == (
        pb.JOB_KIND_VOICE,
        "animatic/espeak",
        0,
    )
    for item, line in zip(job.items, LINES, strict=True):
        audio = item.outputs[0]
        info = await probe(store.path_for(audio.id))
        assert info.has_audio and not info.has_video and audio.mime_type == "audio/wav"
        _assert_timed_in_order(item, line)
        # The words fill the audio: it ends with the last word's sound (and espeak-ng's short tail).
        assert 0 <= info.duration_seconds - item.words[-1].end_seconds < 0.5
        assert item.words[0].start_seconds < 0.3
    # The same request again: served from the first job's outputs, words included, nothing spoken.
    assert again.state == pb.JOB_STATE_SUCCEEDED
    for first, cached in zip(job.items, again.items, strict=True):
        assert cached.cached and not first.cached
        assert cached.outputs[0].id == first.outputs[0].id
        assert list(cached.words) == list(first.words)


async def test_offline_speed_and_language_choose_the_rate_and_voice(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(replicate_api_token="")
    async with generator(settings) as stub:
        slow = _voice(LINES[0], speed=0.7)
        fast = _voice(LINES[0], speed=1.6, language="en-GB")
        slow_job = await wait_for_job(stub, (await stub.GenerateVoice(slow, timeout=5)).id)
        fast_job = await wait_for_job(stub, (await stub.GenerateVoice(fast, timeout=5)).id)
    assert slow_job.state == fast_job.state == pb.JOB_STATE_SUCCEEDED, (slow_job, fast_job)
    slow_end, fast_end = (
        slow_job.items[0].words[-1].end_seconds,
        fast_job.items[0].words[-1].end_seconds,
    )
    assert fast_end < slow_end * 0.6


async def test_hosted_voice_on_the_fake_replicate(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    fake.strict()  # inputs checked against the model's published schema
    settings = make_settings()
    store = ArtifactStore(settings.artifacts_path)
    request = _voice(*LINES, voice="Wise_Woman", speed=1.1, language="en-US")
    async with generator(settings) as stub:
        estimate = await stub.EstimateCost(pb.EstimateCostRequest(voice=request), timeout=5)
        job = await wait_for_job(stub, (await stub.GenerateVoice(request, timeout=5)).id)

    chars = [len(line) for line in LINES]
    assert estimate.model == "minimax/speech-2.6-turbo"  # draft tier
    assert [i.estimated_cost_micros for i in estimate.items] == [60 * c for c in chars]
    assert estimate.items[0].basis == f"{chars[0]} chars × $6e-05/char"
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert fake.creates == len(LINES)
    assert job.actual_cost_micros == job.estimated_cost_micros == 60 * sum(chars)
    sent = [p.input for p in fake.predictions.values()]
    assert {p["text"] for p in sent} == set(LINES)
    assert all(
        p["voice_id"] == "Wise_Woman" and p["speed"] == 1.1 and p["language_boost"] == "English"
        and p["subtitle_enable"] is True
        for p in sent
    )  # fmt: skip
    for item, line in zip(job.items, LINES, strict=True):
        audio = item.outputs[0]
        assert audio.mime_type == "audio/mpeg" and store.get(audio.id) is not None  # downloaded
        assert (await probe(store.path_for(audio.id))).has_audio
        _assert_timed_in_order(item, line)
        sentences = fake.spoken[line, 1.1].subtitles
        assert len(sentences) == len(re.findall(r"[.!?]", line))
        words = iter(item.words)
        for sentence in sentences:
            begin, end = sentence["time_begin"] / 1000, sentence["time_end"] / 1000
            inside = [next(words) for _ in _words_of(sentence["text"])]
            # Each sentence's words fill its span exactly, from its first sound to its last.
            assert inside[0].start_seconds == pytest.approx(begin, abs=0.002)
            assert inside[-1].end_seconds == pytest.approx(end, abs=0.002)


async def test_hosted_production_tier_uses_hd_pricing(
    fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    request = _voice("Hello there.", tier=common_pb2.TIER_PRODUCTION)
    async with generator(make_settings()) as stub:
        estimate = await stub.EstimateCost(pb.EstimateCostRequest(voice=request), timeout=5)
    assert (estimate.model, estimate.estimated_cost_micros) == ("minimax/speech-2.6-hd", 1_200)


BAD_VOICE = [
    ("no lines", _voice(), "lines"),
    ("empty line", _voice("One.", "Two.", "  "), "lines[2].text"),
    ("too long", _voice("One.", "a" * 10_001), "lines[1].text"),
    ("no word", _voice("…!"), "lines[0].text"),
    ("speed high", _voice("One.", speed=2.5), "speed"),
    ("speed low", _voice("One.", speed=0.2), "speed"),
    ("language", _voice("One.", language="klingon"), "language"),
    ("unknown model", _voice("One.", model="minimax/speech-9"), "model"),
]


@pytest.mark.parametrize(
    ("request_", "field"), [(r, f) for _, r, f in BAD_VOICE], ids=[n for n, _, _ in BAD_VOICE]
)
async def test_bad_voice_requests_name_the_field(
    make_settings: MakeSettings, request_: pb.GenerateVoiceRequest, field: str
) -> None:
    async with generator(make_settings()) as stub:
        assert field in await field_violations(stub.GenerateVoice(request_, timeout=5))


async def test_offline_voices_are_espeak_ngs(make_settings: MakeSettings) -> None:
    async with generator(make_settings()) as stub:
        offline = _voice("One.", provider="animatic", voice="Wise_Woman")
        refused = await field_violations(stub.GenerateVoice(offline, timeout=5))
        assert "espeak-ng has no voice for 'Wise_Woman'" in refused["voice"]
        hosted = _voice("One.", voice="Wise_Woman")  # a MiniMax voice is fine on Replicate
        assert (await stub.EstimateCost(pb.EstimateCostRequest(voice=hosted), timeout=5)).items
        estimate = pb.EstimateCostRequest(voice=_voice("", speed=9))
        assert set(await field_violations(stub.EstimateCost(estimate, timeout=5))) == {
            "voice.lines[0].text",
            "voice.speed",
        }
