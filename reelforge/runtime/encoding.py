"""How each quality tier encodes pictures, shared by the two services that must agree on it.

The composer encodes the ad's pieces with these x264 settings, and the offline animatic its
clips, with a GOP starting wherever the default crossfade can begin or end. Such a clip is
*ready* (``services/composer/ready_clips.py``): its caption-free bodies join the ad by stream
copy, so those pixels are encoded once in the whole pipeline. The decoder set-up x264 writes
(SPS/PPS) depends on the preset and the CRF, so the two must be the very same here.
"""

from __future__ import annotations

from reelforge.v1 import common_pb2

X264_PRESET = {common_pb2.TIER_PRODUCTION: "medium", common_pb2.TIER_DRAFT: "veryfast"}
X264_CRF = {common_pb2.TIER_PRODUCTION: 20, common_pb2.TIER_DRAFT: 23}
# The crossfade a compose uses unless asked otherwise (ComposeRequest.transition_seconds).
DEFAULT_CROSSFADE_S = 0.5
# The composer places cuts by rounding the ad's running time to frames, and the studio asks
# for clips a little longer than their scenes: a body can end from one frame after to this
# many frames before the clip's length minus the crossfade (tests/composer/test_ready_clips.py
# walks 600 random timelines).
_ROUNDING_FRAMES = 2


def ready_keyframes(frames: int, fps: int, crossfade_s: float = DEFAULT_CROSSFADE_S) -> list[int]:
    """The frames of a ``frames``-long clip where a GOP should start so that any body the
    composer cuts from it with this crossfade is whole GOPs: where the fade in ends, and where
    the fade out may begin or (the last clip) the ad may end — a few candidates each, for the
    composer's rounding. A GOP of one or two frames costs an IDR frame's bits, little."""
    overlap = round(crossfade_s * fps)
    slacks = range(-1, _ROUNDING_FRAMES + 1)
    ends = {frames - end - slack for end in (overlap, 0) for slack in slacks}
    return sorted(at for at in {overlap, *ends} if 0 < at < frames)
