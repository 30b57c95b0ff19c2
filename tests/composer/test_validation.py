"""Bad requests are refused with INVALID_ARGUMENT naming each bad field; nothing is persisted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2, composer_pb2, composer_pb2_grpc
from services.composer.validation import XFADE_TRANSITIONS, validate_compose
from tests.composer.helpers import Media, put
from tests.grpc_helpers import field_violations

if TYPE_CHECKING:
    Stub = composer_pb2_grpc.ComposerServiceAsyncStub

S = composer_pb2
ID = "ab" * 32


def _clips(*targets: float, source: str = ID) -> list[composer_pb2.ClipInput]:
    return [S.ClipInput(source=source, target_duration_seconds=t) for t in targets]


def _voice(*words: tuple[str, float, float], source: str = ID, start: float = 0.0) -> S.VoiceInput:
    timings = [common_pb2.WordTiming(word=w, start_seconds=a, end_seconds=b) for w, a, b in words]
    return S.VoiceInput(source=source, start_seconds=start, words=timings)


def _mode(mode: S.CaptionMode.ValueType) -> S.CaptionOptions:
    return S.CaptionOptions(mode=mode)


def _style(**fields: Any) -> S.CaptionOptions:
    return S.CaptionOptions(style=S.CaptionStyle(**fields))


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (S.ComposeRequest(), "clips"),
        (S.ComposeRequest(clips=_clips(*[1.0] * 21)), "clips"),
        (S.ComposeRequest(clips=_clips(1, 1, 1, 0.2)), "clips[3].target_duration_seconds"),
        (S.ComposeRequest(clips=_clips(1, 61)), "clips[1].target_duration_seconds"),
        (S.ComposeRequest(clips=_clips(60, 60, 60, 60)), "clips"),
        (S.ComposeRequest(clips=_clips(1, source="ftp://x/y.mp4")), "clips[0].source"),
        (S.ComposeRequest(clips=_clips(1, source="../../etc/passwd")), "clips[0].source"),
        (S.ComposeRequest(clips=_clips(1, source="")), "clips[0].source"),
        (S.ComposeRequest(clips=_clips(1), transition="sparkles"), "transition"),
        (S.ComposeRequest(clips=_clips(1, 1), transition_seconds=1.0), "transition_seconds"),
        (S.ComposeRequest(clips=_clips(1), transition_seconds=-1), "transition_seconds"),
        (S.ComposeRequest(clips=_clips(1), height=321), "height"),
        (S.ComposeRequest(clips=_clips(1), height=8000), "height"),
        (S.ComposeRequest(clips=_clips(1), fps=120), "fps"),
        (S.ComposeRequest(clips=_clips(1), loudness_lufs=0), "loudness_lufs"),
        (S.ComposeRequest(clips=_clips(1), music="file:///etc/passwd"), "music"),
        (S.ComposeRequest(clips=_clips(1), max_size_bytes=-5), "max_size_bytes"),
        (S.ComposeRequest(clips=_clips(10), max_size_bytes=1000), "max_size_bytes"),
        (S.ComposeRequest(clips=_clips(1), aspect_ratio=9), "aspect_ratio"),  # type: ignore[arg-type]
        (S.ComposeRequest(clips=_clips(1), voice=[_voice(source="x")]), "voice[0].source"),
        (S.ComposeRequest(clips=_clips(1), voice=[_voice(start=-1)]), "voice[0].start_seconds"),
        (S.ComposeRequest(clips=_clips(2), voice=[_voice(start=2)]), "voice[0].start_seconds"),
        (S.ComposeRequest(clips=_clips(1), voice=[_voice()] * 41), "voice"),
        (S.ComposeRequest(clips=_clips(1), voice=[_voice(("", 0, 1))]), "voice[0].words[0].word"),
        (
            S.ComposeRequest(clips=_clips(3), voice=[_voice(), _voice(("a", 0, 1), ("b", 2, 2))]),
            "voice[1].words[1].end_seconds",
        ),
        (
            S.ComposeRequest(clips=_clips(3), voice=[_voice(("a", 1, 2), ("b", 0.5, 2))]),
            "voice[0].words[1].start_seconds",
        ),
        (
            S.ComposeRequest(clips=_clips(1), voice=[_voice(("a", -1, 1))]),
            "voice[0].words[0].start_seconds",
        ),
        (S.ComposeRequest(clips=_clips(1), captions=_mode(S.CAPTION_MODE_WORDS)), "captions.mode"),
        (S.ComposeRequest(clips=_clips(1), captions=_mode(7)), "captions.mode"),  # type: ignore[arg-type]
        (
            S.ComposeRequest(clips=_clips(1), captions=_style(colour="white")),
            "captions.style.colour",
        ),
        (
            S.ComposeRequest(clips=_clips(1), captions=_style(highlight_colour="#12345")),
            "captions.style.highlight_colour",
        ),
        (
            S.ComposeRequest(clips=_clips(1), captions=_style(font="Sans, Bold")),
            "captions.style.font",
        ),
        (S.ComposeRequest(clips=_clips(1), captions=_style(size=0.5)), "captions.style.size"),
        (S.ComposeRequest(clips=_clips(1), captions=_style(outline=0.1)), "captions.style.outline"),
        (S.ComposeRequest(clips=_clips(1), platform="myspace"), "platform"),
        (S.ComposeRequest(clips=_clips(1), request_id="x" * 129), "request_id"),
        (S.ComposeRequest(clips=_clips(1), request_id="a\nb"), "request_id"),
        (
            S.ComposeRequest(clips=[S.ClipInput(source=ID, caption="w " * 101)]),
            "clips[0].caption",
        ),
    ],
)
def test_each_rule_names_its_field(request_: composer_pb2.ComposeRequest, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_compose(request_)
    assert field in [v.field for v in caught.value.violations]


def test_good_requests_pass() -> None:
    validate_compose(S.ComposeRequest(clips=_clips(5.5, 0, 4), music="https://cdn.example/m.mp3"))
    voiced = S.ComposeRequest(
        clips=_clips(2, 2),
        voice=[_voice(("Meet", 0, 0.3), ("Lumen", 0.3, 0.7), start=0.2), _voice(start=3.4)],
        captions=S.CaptionOptions(
            mode=S.CAPTION_MODE_WORDS,
            style=S.CaptionStyle(font="DejaVu Sans", size=0.06, colour="#ffffff", outline=0),
        ),
        platform="shorts",
        request_id="ad-42/compose-1",
    )
    validate_compose(voiced)
    for name in sorted(XFADE_TRANSITIONS)[:5]:
        validate_compose(S.ComposeRequest(clips=_clips(2, 2), transition=name))


async def test_bad_request_over_grpc_names_fields_and_stores_nothing(
    stub: Stub, store: ArtifactStore, media: Media
) -> None:
    short = await put(store, media.clip_1s)
    request = S.ComposeRequest(
        clips=[
            *_clips(2, source=short),  # stored 1 s long, target 2 s, no hold_last_frame
            *_clips(1, source="cd" * 32),  # not in the store
        ],
        transition="sparkles",
        voice=[_voice(source="ef" * 32, start=0.5)],  # not in the store
    )
    fields = await field_violations(stub.Compose(request, timeout=5))
    listed = await stub.ListCompositions(S.ListCompositionsRequest(), timeout=5)

    assert set(fields) == {
        "clips[0].target_duration_seconds",
        "clips[1].source",
        "transition",
        "voice[0].source",
    }
    assert "1.00 s" in fields["clips[0].target_duration_seconds"]
    assert not listed.compositions
    get_fields = await field_violations(stub.GetComposition(S.GetCompositionRequest(), timeout=5))
    assert "id" in get_fields
