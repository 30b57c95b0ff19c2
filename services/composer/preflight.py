"""Checks that need the artifact store but no download: stored inputs exist, clips are long enough."""

from __future__ import annotations

from reelforge.runtime.artifacts import ArtifactStore, is_artifact_id
from reelforge.runtime.validation import Violations
from reelforge.v1 import composer_pb2
from services.composer.overlays import brand_sources
from services.composer.timeline import long_enough


def _check_clip(
    store: ArtifactStore, index: int, clip: composer_pb2.ClipInput, hold: bool, found: Violations
) -> None:
    meta = store.get(clip.source)
    if meta is None:
        found.add(f"clips[{index}].source", f"artifact {clip.source} is not in the store")
        return
    # A duration of 0 means the store does not know it; the render's probe decides then.
    stored = meta.duration_seconds
    target = clip.target_duration_seconds
    if stored > 0 and target > 0 and not long_enough(stored, target) and not hold:
        found.add(
            f"clips[{index}].target_duration_seconds",
            f"the clip lasts {stored:.2f} s, shorter than {target:g} s "
            "(set hold_last_frame to hold its last frame)",
        )


def check_stored_inputs(
    store: ArtifactStore, request: composer_pb2.ComposeRequest, found: Violations
) -> None:
    """Adds violations for missing artifacts (clips, sounds, brand files) and stored clips
    shorter than their target."""
    for index, clip in enumerate(request.clips):
        if is_artifact_id(clip.source):
            _check_clip(store, index, clip, request.hold_last_frame, found)
    others = [("music", request.music)]
    others += [(f"voice[{i}].source", v.source) for i, v in enumerate(request.voice)]
    others += brand_sources(request).items()
    for field, source in others:
        if is_artifact_id(source) and store.get(source) is None:
            found.add(field, f"artifact {source} is not in the store")
