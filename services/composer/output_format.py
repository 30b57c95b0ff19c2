"""The output a request asks for: frame size from aspect ratio and tier, fps, fit, x264 settings."""

from __future__ import annotations

from dataclasses import dataclass

from reelforge.runtime.encoding import X264_CRF, X264_PRESET
from reelforge.runtime.settings import Environment
from reelforge.v1 import common_pb2, composer_pb2
from services.composer.validation import (
    DEFAULT_FPS,
    DEFAULT_LUFS,
    DEFAULT_TRANSITION,
    transition_seconds,
)

# Width:height of each aspect ratio; unspecified means the vertical ad format.
_ASPECTS = {
    common_pb2.ASPECT_RATIO_UNSPECIFIED: (9, 16),
    common_pb2.ASPECT_RATIO_9_16: (9, 16),
    common_pb2.ASPECT_RATIO_16_9: (16, 9),
    common_pb2.ASPECT_RATIO_1_1: (1, 1),
    common_pb2.ASPECT_RATIO_4_5: (4, 5),
}
# The tier fixes the long side of a vertical ad (1920 production, 1280 draft) and so the short
# side (1080, 720) every shape shares: 16:9 production is 1920×1080, 1:1 is 1080×1080 and 4:5
# is 1080×1350 (720×900 in draft), as in common.proto.
_LONG_SIDE = {common_pb2.TIER_PRODUCTION: 1920, common_pb2.TIER_DRAFT: 1280}
AUDIO_KBPS = 192


@dataclass(frozen=True)
class OutputFormat:
    width: int
    height: int
    fps: int
    preset: str
    crf: int
    transition: str
    transition_s: float
    loudness_lufs: float
    audio_kbps: int = AUDIO_KBPS
    fit: common_pb2.Fit.ValueType = common_pb2.FIT_COVER


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def default_tier(environment: Environment) -> common_pb2.Tier.ValueType:
    return common_pb2.TIER_PRODUCTION if environment == "production" else common_pb2.TIER_DRAFT


def frame_size(
    aspect: common_pb2.AspectRatio.ValueType, tier: common_pb2.Tier.ValueType, height: int
) -> tuple[int, int]:
    """(width, height): an explicit height wins; the width follows the aspect ratio, even."""
    aw, ah = _ASPECTS[aspect]
    if height:
        return _even(height * aw / ah), height
    short = _LONG_SIDE[tier] * 9 // 16
    if aw > ah:
        return _LONG_SIDE[tier], short
    return short, _even(short * ah / aw)


def output_format(request: composer_pb2.ComposeRequest, environment: Environment) -> OutputFormat:
    """Resolves every default of a (validated) request into concrete settings."""
    tier = request.tier or default_tier(environment)
    width, height = frame_size(request.aspect_ratio, tier, request.height)
    return OutputFormat(
        width=width,
        height=height,
        fps=request.fps or DEFAULT_FPS,
        preset=X264_PRESET[tier],
        crf=X264_CRF[tier],
        transition=request.transition or DEFAULT_TRANSITION,
        transition_s=transition_seconds(request),
        loudness_lufs=(
            request.loudness_lufs if request.HasField("loudness_lufs") else DEFAULT_LUFS
        ),
        fit=request.fit or common_pb2.FIT_COVER,
    )
