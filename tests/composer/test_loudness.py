"""The music bed comes out at the requested integrated loudness, measured as a user would:
FFmpeg's EBU R128 meter (`ebur128`) over the whole finished ad."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2 as S
from tests.composer.helpers import Media, compose_and_wait, put

if TYPE_CHECKING:
    from reelforge.v1.composer_pb2_grpc import ComposerServiceAsyncStub as Stub

# One-pass loudnorm on a few seconds of music, then the 1 s fade-out at the end (which lowers
# the integrated figure a little; measured 0.4 LU below target): within 1 LU is "normalised".
# The source music is about −22 LUFS, far (> 3 LU) from both targets, so skipping loudnorm fails.
TOLERANCE_LU = 1.0


async def integrated_lufs(path: str) -> float:
    """Integrated loudness of a file's audio: the "I: -14.1 LUFS" of ebur128's summary.

    Per-frame lines go to the verbose log level, so only the summary is printed.
    """
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostats", "-i", path, "-map", "0:a:0",
        "-af", "ebur128=framelog=verbose", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()[-2000:]
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", stderr.decode())
    assert found, stderr.decode()[-2000:]
    return float(found[-1])  # the summary comes last


@pytest.mark.parametrize("target", [-14.0, -30.0])
async def test_music_is_rendered_at_the_requested_loudness(
    stub: Stub, store: ArtifactStore, media: Media, target: float
) -> None:
    clip, music = await put(store, media.clip_2s), await put(store, media.music)
    source = await integrated_lufs(str(media.music))
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip)] * 3,  # silent clips: the ad's sound is the music alone
        music=music,
        height=320,
        fps=12,
        loudness_lufs=target,
    )
    final = await compose_and_wait(stub, request)
    assert final.state == S.COMPOSITION_STATE_COMPLETED, (final.error, final.message)
    measured = await integrated_lufs(str(store.path_for(final.output.id)))
    print(f"\nmusic {source:.1f} LUFS → ad {measured:.1f} LUFS (target {target:g})")
    assert abs(source - target) > 3 * TOLERANCE_LU, "the source must start far from the target"
    assert abs(measured - target) <= TOLERANCE_LU, (measured, target)
