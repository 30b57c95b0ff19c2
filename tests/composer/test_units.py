"""Small pure pieces: FFmpeg progress parsing, the watcher throttle, frame sizes, size budgets."""

from __future__ import annotations

import pytest

from reelforge.v1 import common_pb2
from services.composer.output_format import frame_size
from services.composer.progress import ProgressParser, Throttle, phase_percent
from services.composer.render_errors import RenderFailed
from services.composer.size_budget import fit_bitrates


def test_progress_counts_video_frames_not_the_audio_clock() -> None:
    parser = ProgressParser(fps=24)
    lines = ["frame=N/A", "progress=continue", "frame=12", "out_time_us=9000000", "speed=1x"]
    assert [parser.feed(line) for line in lines] == [None, 0.0, None, None, None]
    assert parser.feed("progress=end\n") == 0.5


def test_throttle_lets_one_call_through_per_interval() -> None:
    now = [0.0]
    throttle = Throttle(0.25, clock=lambda: now[0])
    passed = []
    for step in range(10):
        now[0] = step * 0.1
        passed.append(throttle.ready())
    assert passed == [True, False, False, True, False, False, True, False, False, True]
    assert throttle.ready(force=True)


def test_phase_percent_stays_in_its_span() -> None:
    assert phase_percent(-1, 10, 10, 90) == 10
    assert phase_percent(5, 10, 10, 90) == 50
    assert phase_percent(99, 10, 10, 90) == 90


@pytest.mark.parametrize(
    ("aspect", "tier", "height", "size"),
    [
        (common_pb2.ASPECT_RATIO_UNSPECIFIED, common_pb2.TIER_PRODUCTION, 0, (1080, 1920)),
        (common_pb2.ASPECT_RATIO_9_16, common_pb2.TIER_DRAFT, 0, (720, 1280)),
        (common_pb2.ASPECT_RATIO_16_9, common_pb2.TIER_PRODUCTION, 0, (1920, 1080)),
        (common_pb2.ASPECT_RATIO_1_1, common_pb2.TIER_PRODUCTION, 0, (1080, 1080)),
        (common_pb2.ASPECT_RATIO_9_16, common_pb2.TIER_DRAFT, 100, (56, 100)),
        (common_pb2.ASPECT_RATIO_16_9, common_pb2.TIER_DRAFT, 720, (1280, 720)),
    ],
)
def test_frame_sizes(
    aspect: common_pb2.AspectRatio.ValueType,
    tier: common_pb2.Tier.ValueType,
    height: int,
    size: tuple[int, int],
) -> None:
    width, got_height = frame_size(aspect, tier, height)
    assert (width, got_height) == size and width % 2 == 0


def test_size_budget_splits_and_refuses_the_impossible() -> None:
    rates = fit_bitrates(1_000_000, 10.0, has_audio=True)
    assert 32 <= rates.audio_kbps <= 128
    assert (rates.video_kbps + rates.audio_kbps) * 10 * 1000 / 8 < 1_000_000
    with pytest.raises(RenderFailed, match="max_size_bytes"):
        fit_bitrates(2_000, 10.0, has_audio=False)
