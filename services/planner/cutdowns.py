"""Cut-downs: a 15 s or 6 s version of an ad, made from its storyboard's clips, trimmed.

The rule (offline, deterministic; no model is asked, so it costs nothing and a re-render of
the same storyboard picks the same cut):

1. Scenes: the hook (the first scene, so every cut-down opens on the ad's first frame), the
   product (the first PRODUCT_INTRO scene after the hook, else the second scene) and the call
   to action (the last scene). When those three last less than the cut-down in the full ad,
   FEATURE scenes are added in story order until they last at least as long.
2. Lengths: every chosen scene shrinks by the same factor (the ad's proportions are kept),
   in whole hundredths summing exactly to the cut-down's length, none under
   ``MIN_CUT_SCENE_S``. A scene is never longer than in the full ad, so its clip is only
   trimmed (the composer plays it from its start for the new length): nothing is generated
   or paid again.
3. Story order is kept.

A cut-down must be shorter than the ad; ``CutdownError`` says why one cannot be made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reelforge.v1 import common_pb2

CUTDOWN_LENGTHS_S = (15, 6)
MIN_CUT_SCENE_S = 1.0


class CutdownError(ValueError):
    """The storyboard cannot be cut to the asked length (it is not longer than that)."""


@dataclass(frozen=True)
class CutScene:
    """A storyboard scene in a cut-down: its index and its seconds on screen."""

    index: int
    duration_s: float


def cutdown(scenes: Sequence[common_pb2.Scene], length_s: float) -> list[CutScene]:
    """The scenes of the ``length_s`` cut-down of ``scenes`` and their lengths (module docstring)."""
    total = sum(s.duration_seconds for s in scenes)
    if len(scenes) < 2 or length_s >= total - 1e-6:
        raise CutdownError(
            f"a {length_s:g} s cut-down needs an ad longer than {length_s:g} s; "
            f"this one lasts {total:g} s"
        )
    chosen = _choose(scenes, length_s)
    lengths = _shrink([scenes[i].duration_seconds for i in chosen], length_s)
    return [CutScene(i, d) for i, d in zip(chosen, lengths, strict=True)]


def _choose(scenes: Sequence[common_pb2.Scene], length_s: float) -> list[int]:
    """Hook, product and call to action, then features in order until they fill ``length_s``."""
    last = len(scenes) - 1
    middle = range(1, last)
    product = next(
        (i for i in middle if scenes[i].type == common_pb2.SCENE_TYPE_PRODUCT_INTRO),
        1 if last > 1 else None,
    )
    chosen = {0, last} | ({product} if product is not None else set())
    for i in middle:  # features first, then any other scene, in story order
        if _seconds(scenes, chosen) >= length_s:
            break
        if scenes[i].type == common_pb2.SCENE_TYPE_FEATURE:
            chosen.add(i)
    for i in middle:
        if _seconds(scenes, chosen) >= length_s:
            break
        chosen.add(i)
    # Too many scenes for the length: the floor would not fit; drop the latest middle ones.
    while len(chosen) > 2 and len(chosen) * MIN_CUT_SCENE_S > length_s:
        chosen.remove(max(chosen - {last}))
    return sorted(chosen)


def _seconds(scenes: Sequence[common_pb2.Scene], chosen: set[int]) -> float:
    return sum(scenes[i].duration_seconds for i in chosen)


def _shrink(durations: list[float], length_s: float) -> list[float]:
    """Durations scaled to sum to ``length_s`` exactly (hundredths), each ≥ the floor and ≤ its
    own length (where the floor allows)."""
    target, floor = round(length_s * 100), round(MIN_CUT_SCENE_S * 100)
    full = [round(d * 100) for d in durations]
    pinned: set[int] = set()
    shares = [float(c) for c in full]
    for _ in range(len(full) + 1):  # pin the ones under the floor, re-split the rest
        free = [i for i in range(len(full)) if i not in pinned]
        left = target - floor * len(pinned)
        weight = sum(full[i] for i in free) or 1
        shares = [floor if i in pinned else full[i] * left / weight for i in range(len(full))]
        under = {i for i in free if shares[i] < floor}
        if not under:
            break
        pinned |= under
    cents = [max(floor, math.floor(s)) for s in shares]
    # The rounding remainder, one hundredth at a time, to the largest fractions first.
    order = sorted(range(len(cents)), key=lambda i: cents[i] - shares[i])
    remainder = target - sum(cents)
    while remainder > 0:
        for i in order:
            if remainder > 0:
                cents[i] += 1
                remainder -= 1
    return [c / 100 for c in cents]
