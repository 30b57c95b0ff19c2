"""Maps an item's spec to a Replicate model's input through the catalog entry's field names.

What a request says (prompt, seed image, last frame, reference images, duration, tier, aspect
ratio, seed, voice…) is a *role*; the model's catalog entry names the input field of each role
it takes, its accepted durations, its resolution per tier and its fixed inputs. Roles a model
does not take are left out (a last frame for a model without one; references for a model that
takes none).

Reference images: an image's are the request's ``reference_images``, then the product's photos,
then the logo; a clip's are its ``reference_images``. Beyond the model's maximum the last ones
are dropped. A model that takes references only without a first/last frame (Seedance 1 lite)
gets the frames and not the references: the seed image was drawn with the references already
and fixes the scene the storyboard approved. References that need a lower resolution (Seedance
1 lite: 720p at most) lower it to the highest one allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2
from services.generator.catalog import Kind, ModelEntry
from services.generator.voices import MINIMAX_DEFAULT_VOICE, language_boost

_ASPECT: dict[int, str] = {
    common_pb2.ASPECT_RATIO_9_16: "9:16",
    common_pb2.ASPECT_RATIO_16_9: "16:9",
    common_pb2.ASPECT_RATIO_1_1: "1:1",
}


def _stored_files(value: Any) -> bool:
    """An artifact id, or a list of them: what submission turns into a data: URI or upload."""
    if isinstance(value, list):
        return bool(value) and all(_stored_files(item) for item in value)
    return isinstance(value, str) and is_artifact_id(value)


def same_input(sent: dict[str, Any], echoed: dict[str, Any]) -> bool:
    """Whether a prediction's echoed input is the one we sent.

    Stored files are compared loosely: Replicate echoes the data: URI or file URL they became.
    """
    keys = {key for key in set(sent) | set(echoed) if not _stored_files(sent.get(key))}
    return all(sent.get(key) == echoed.get(key) for key in keys)


def aspect_ratio(value: int) -> str:
    return _ASPECT.get(value, "9:16")


@dataclass
class _Input:
    """The input being built: a value per role, under the entry's field name."""

    entry: ModelEntry
    tier: int
    values: dict[str, Any] = field(default_factory=dict)

    def takes(self, role: str) -> bool:
        return self.entry.field(role) is not None

    def put(self, role: str, value: Any) -> None:
        name = self.entry.field(role)
        if name is not None and value not in (None, "", []):
            self.values[name] = value

    def put_aspect(self, aspect: str) -> None:
        accepted = self.entry.aspect_ratios
        if self.takes("aspect_ratio") and accepted and aspect not in accepted:
            raise InvalidArgument.single(
                "aspect_ratio", f"{self.entry.name} makes {', '.join(accepted)} only (not {aspect})"
            )
        self.put("aspect_ratio", aspect)

    def put_references(self, refs: list[str], *, excluded: bool = False) -> bool:
        """The references under the model's field, at most its maximum; whether any went."""
        references = self.entry.references
        if references is None or excluded or not refs:
            return False
        self.values[references.field] = refs[: references.max_count]
        return True

    def resolution(self, *, with_references: bool) -> str | None:
        chosen = self.entry.resolutions.get(self.tier)
        allowed = self.entry.references.resolutions if self.entry.references else ()
        if with_references and allowed and chosen not in allowed:
            return allowed[-1]  # the highest the model takes with references
        return chosen


def _seed(spec: dict[str, Any]) -> int | None:
    return int(spec.get("seed", 0)) or None  # 0 lets the provider choose


def _image(built: _Input, spec: dict[str, Any], aspect: str) -> None:
    built.put("prompt", str(spec["prompt"]))
    built.put_aspect(aspect)
    built.put("seed", _seed(spec))
    if built.takes("width"):
        width, height = built.entry.sizes[aspect][built.tier]
        built.put("width", width)
        built.put("height", height)
    logo = [str(spec["logo"])] if spec.get("logo") else []
    built.put_references(
        [*spec.get("reference_images", ()), *spec.get("product_images", ()), *logo]
    )


def _clip(built: _Input, spec: dict[str, Any], aspect: str) -> None:
    entry = built.entry
    prompt = str(spec["prompt"])
    if spec.get("camera_motion"):
        prompt = f"{prompt}. Camera: {spec['camera_motion']}"
    built.put("prompt", prompt)
    assert entry.durations is not None  # the catalog requires them of clip models
    built.put("duration", entry.durations.quantise(float(spec["duration_seconds"])))
    frames = {
        "image": str(spec.get("image", "")),
        "last_frame": str(spec.get("last_frame_image", "")),
    }
    for role, value in frames.items():
        built.put(role, value)
    excludes = entry.references.excludes if entry.references else ()
    excluded = any(frames.get(role) and built.takes(role) for role in excludes)
    sent = built.put_references(list(spec.get("reference_images", ())), excluded=excluded)
    built.put("resolution", built.resolution(with_references=sent))
    built.put_aspect(aspect)  # ignored by image-to-video models when an image is given
    built.put("seed", _seed(spec))


def _music(built: _Input, spec: dict[str, Any], aspect: str) -> None:
    built.put("prompt", str(spec["prompt"]))
    assert built.entry.durations is not None
    built.put("duration", built.entry.durations.quantise(float(spec["duration_seconds"])))
    built.put("seed", _seed(spec))


def _speech(built: _Input, spec: dict[str, Any], aspect: str) -> None:
    """MiniMax speech: its fixed inputs ask for sentence timings (``subtitle_enable``)."""
    built.put("text", str(spec["text"]))
    built.put("voice", str(spec.get("voice") or MINIMAX_DEFAULT_VOICE))
    built.put("speed", float(spec.get("speed") or 1.0))
    built.put("language", language_boost(str(spec.get("language", ""))))


_BUILDERS: dict[Kind, Callable[[_Input, dict[str, Any], str], None]] = {
    Kind.IMAGES: _image,
    Kind.CLIPS: _clip,
    Kind.MUSIC: _music,
    Kind.VOICE: _speech,
}


def model_input(entry: ModelEntry, spec: dict[str, Any], tier: int, aspect: int) -> dict[str, Any]:
    """The Replicate input for one spec: its fixed inputs, then each role it takes."""
    built = _Input(entry, tier, {**entry.fixed, **entry.fixed_by_tier.get(tier, {})})
    _BUILDERS[entry.kind](built, spec, aspect_ratio(aspect))
    return built.values


def planned_seconds(entry: ModelEntry | None, values: dict[str, Any]) -> float:
    """How long the output will be, from its input (0 when the model has no duration)."""
    name = entry.field("duration") if entry is not None else None
    return float(values.get(name, 0)) if name else 0.0
