"""PrepareSegments: a scene's pieces encoded as soon as its clip exists, ahead of the Compose.

The studio generates an ad's clips in one job whose items land one by one; as each lands it
sends the ad's ComposeRequest with the clips made so far (the others' ``source`` empty), and
the composer encodes what those clips can make into the segment cache (``renderer.prepare``):
their bodies, the crossfades between two of them, the lossless tail the next crossfade starts
from. The Compose after the last clip then finds every other piece cached and mostly joins
by stream copy. Decisions:

- **Best effort, nothing stored but cache entries**: no composition row, no progress, no
  idempotency key. A prepare that fails costs the Compose nothing but time: it encodes what
  is missing, as it always does.
- **One prepare at a time** per process, apart from the renders' own limit: each x264
  already uses every core, and prepares run while the other clips are still generating, when
  the cores are idle. A Compose that arrives meanwhile may encode a piece a prepare is still
  encoding; both write whole files under one key, the last rename wins, the bytes agree.
- **Validated like Compose**, except that a clip not made yet has an empty source and then
  needs its ``target_duration_seconds`` (the layout must not depend on it). An input that
  turns out unreadable is INVALID_ARGUMENT naming its field, like Compose's checks.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from reelforge.runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument
from reelforge.runtime.validation import Violations
from reelforge.v1 import composer_pb2
from services.composer.render_errors import RenderFailed
from services.composer.renderer import RenderContext, prepare
from services.composer.validation import compose_violations

# Stands in for a clip not made yet while the rest of the request is checked like Compose's.
_NOT_MADE_YET = "0" * 64


def prepare_violations(request: composer_pb2.ComposeRequest) -> Violations:
    """Every rule a PrepareSegments request breaks: Compose's, with empty clip sources allowed
    where the clip has a target length, and at least one clip given."""
    shaped = composer_pb2.ComposeRequest()
    shaped.CopyFrom(request)
    for clip in shaped.clips:
        clip.source = clip.source or _NOT_MADE_YET
    found = compose_violations(shaped)
    for index, clip in enumerate(request.clips):
        if not clip.source and clip.target_duration_seconds <= 0:
            found.add(
                f"clips[{index}].target_duration_seconds",
                "a clip not made yet (empty source) needs its target length",
            )
    if request.clips and not any(clip.source for clip in request.clips):
        found.add("clips", "at least one clip must have a source")
    return found


class Preparer:
    """Runs PrepareSegments calls, one at a time, each in a folder of its own."""

    def __init__(self, context: RenderContext, work_root: Path) -> None:
        self._context = context
        self._work_root = work_root
        self._slot = asyncio.Semaphore(1)

    async def prepare(self, request: composer_pb2.ComposeRequest) -> composer_pb2.PreparedSegments:
        """The pieces encoded; a validated request. An input at fault is InvalidArgument."""
        async with self._slot:
            workdir = self._work_root / f"prepare-{uuid.uuid4().hex}"
            try:
                return await prepare(request, self._context, workdir)
            except RenderFailed as error:
                if error.field is not None:
                    raise InvalidArgument([FieldViolation(error.field, error.problem)]) from None
                raise FailedPrecondition(error.message) from None
