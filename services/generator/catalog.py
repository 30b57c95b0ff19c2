"""Known models per kind, the defaults of each tier, and the provider a request runs on.

Replicate's models are data: ``models.toml`` beside this module, plus the entries of the file
named by ``MODEL_CATALOG_PATH`` (added, or replacing same-named ones). Both are read and checked
when the settings load, so a bad entry stops the service at start-up naming the entry and key.
The offline animatic's "models" are code: one renderer per kind.
"""

from __future__ import annotations

import enum
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelforge.v1 import common_pb2, generator_pb2

if TYPE_CHECKING:
    from services.generator.settings import GeneratorSettings

BUNDLED_CATALOG = Path(__file__).with_name("models.toml")


class Kind(enum.StrEnum):
    """What an item makes; the value is its EstimateCostRequest field (and the stored kind)."""

    IMAGES = "images"
    CLIPS = "clips"
    MUSIC = "music"
    VOICE = "voice"

    @property
    def job_kind(self) -> generator_pb2.JobKind.ValueType:
        return _JOB_KINDS[self]

    @property
    def specs_field(self) -> str:
        """The request's repeated field of specs, for error paths ("" for music: one spec)."""
        return {Kind.MUSIC: "", Kind.VOICE: "lines"}.get(self, self.value)

    @classmethod
    def from_job_kind(cls, value: int) -> Kind:
        return next(kind for kind, job_kind in _JOB_KINDS.items() if job_kind == value)


_JOB_KINDS = {
    Kind.IMAGES: generator_pb2.JOB_KIND_IMAGES,
    Kind.CLIPS: generator_pb2.JOB_KIND_CLIPS,
    Kind.MUSIC: generator_pb2.JOB_KIND_MUSIC,
    Kind.VOICE: generator_pb2.JOB_KIND_VOICE,
}
# How the catalog file names a kind.
_FILE_KINDS = {"image": Kind.IMAGES, "clip": Kind.CLIPS, "music": Kind.MUSIC, "voice": Kind.VOICE}
_TIERS = {"draft": common_pb2.TIER_DRAFT, "production": common_pb2.TIER_PRODUCTION}
ASPECT_NAMES = ("9:16", "16:9", "1:1")  # the aspect ratios the service makes

REPLICATE = "replicate"
ANIMATIC = "animatic"
PROVIDERS = (REPLICATE, ANIMATIC)

# Offline "models": one per kind, so jobs and the cache name what made an output.
ANIMATIC_MODELS = {
    Kind.IMAGES: "animatic/still",
    Kind.CLIPS: "animatic/ken-burns",
    Kind.MUSIC: "animatic/synth",
    Kind.VOICE: "animatic/espeak",
}

# What a request can say, per kind: the catalog maps each role to the model's input field.
# Image roles carry stored files (artifact ids become data: URIs or uploads at submission).
IMAGE_ROLES = ("image", "last_frame")
_ROLES: dict[Kind, frozenset[str]] = {
    Kind.IMAGES: frozenset({"prompt", "aspect_ratio", "seed", "width", "height"}),
    Kind.CLIPS: frozenset(
        {"prompt", "duration", "resolution", "aspect_ratio", "seed", *IMAGE_ROLES}
    ),
    Kind.MUSIC: frozenset({"prompt", "duration", "seed"}),
    Kind.VOICE: frozenset({"text", "voice", "speed", "language"}),
}
_REQUIRED_ROLES = {Kind.VOICE: "text"}  # every other kind: "prompt"


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Durations:
    """Whole seconds a model accepts: a range, or a few values."""

    min_s: int
    max_s: int
    allowed: tuple[int, ...] = ()

    def quantise(self, seconds: float) -> int:
        """The nearest accepted value ≥ ``seconds``, else the largest (the composer trims a
        longer clip to its scene and holds the last frame of a shorter one)."""
        wanted = math.ceil(seconds - 1e-9)
        if self.allowed:
            return next((value for value in self.allowed if value >= wanted), self.allowed[-1])
        return max(self.min_s, min(self.max_s, wanted))


@dataclass(frozen=True)
class References:
    """Reference images a model takes: the input field, how many, and what they exclude."""

    field: str
    max_count: int
    excludes: tuple[str, ...] = ()  # roles (e.g. a first frame) that cannot go with them
    resolutions: tuple[str, ...] = ()  # accepted with references, lowest first; empty → any


@dataclass(frozen=True)
class Price:
    """One of four billing shapes, in micro-USD."""

    per_output_micros: int = 0
    per_second_micros: Mapping[str, int] = field(default_factory=dict)  # by resolution ("" any)
    per_gpu_second_micros: int = 0
    per_char_micros: int = 0  # of the input text
    # For GPU-second models: expected compute seconds per output (images) or per output second (audio).
    expected_gpu_s: float = 0.0
    gpu_s_per_output_second: float = 0.0


@dataclass(frozen=True)
class ModelEntry:
    """One Replicate model as the catalog describes it."""

    name: str  # "owner/name"
    kind: Kind
    official: bool  # created by name; otherwise by (its latest or a pinned) version
    inputs: Mapping[str, str]  # role → the model's input field
    fixed: Mapping[str, Any]  # inputs sent as they are
    fixed_by_tier: Mapping[int, Mapping[str, Any]]
    durations: Durations | None
    resolutions: Mapping[int, str]  # tier → resolution name
    aspect_ratios: tuple[str, ...]  # accepted; empty → any the service makes
    sizes: Mapping[str, Mapping[int, tuple[int, int]]]  # aspect → tier → (width, height)
    references: References | None
    price: Price

    def field(self, role: str) -> str | None:
        return self.inputs.get(role)

    @property
    def image_fields(self) -> tuple[str, ...]:
        """Input fields holding images (single or lists): where stored files are resolved."""
        single = tuple(self.inputs[role] for role in IMAGE_ROLES if role in self.inputs)
        return single + ((self.references.field,) if self.references else ())


@dataclass(frozen=True)
class ModelCatalog:
    models: Mapping[str, ModelEntry]
    defaults: Mapping[tuple[Kind, int], str]  # (kind, tier) → model name

    def entry(self, ref: str) -> ModelEntry | None:
        return self.models.get(base_model(ref))

    def names(self, kind: Kind) -> tuple[str, ...]:
        return tuple(name for name, entry in self.models.items() if entry.kind is kind)


# ---- reading the file ------------------------------------------------------------------------


def _micros(usd: Any, where: str) -> int:
    if isinstance(usd, bool) or not isinstance(usd, int | float) or usd < 0:
        raise CatalogError(f"{where}: must be a price in USD ≥ 0 (got {usd!r})")
    return round(usd * 1_000_000)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CatalogError(f"{where}: must be a table (got {value!r})")
    return value


def _known_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CatalogError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}"
        )


def _price(raw: Any, where: str) -> Price:
    table = _table(raw, where)
    _known_keys(table, {"per_image", "per_second", "per_gpu_second", "per_char",
                        "expected_gpu_s", "gpu_s_per_output_second"}, where)  # fmt: skip
    per_second = table.get("per_second", {})
    if not isinstance(per_second, dict):
        per_second = {"": per_second}  # one rate whatever the resolution
    price = Price(
        per_output_micros=_micros(table.get("per_image", 0), f"{where}.per_image"),
        per_second_micros={
            res: _micros(usd, f"{where}.per_second.{res}") for res, usd in per_second.items()
        },
        per_gpu_second_micros=_micros(table.get("per_gpu_second", 0), f"{where}.per_gpu_second"),
        per_char_micros=_micros(table.get("per_char", 0), f"{where}.per_char"),
        expected_gpu_s=float(table.get("expected_gpu_s", 0.0)),
        gpu_s_per_output_second=float(table.get("gpu_s_per_output_second", 0.0)),
    )
    shapes = [price.per_output_micros, price.per_second_micros, price.per_gpu_second_micros,
              price.per_char_micros]  # fmt: skip
    if sum(bool(shape) for shape in shapes) != 1:
        raise CatalogError(
            f"{where}: give exactly one of per_image, per_second, per_gpu_second, per_char"
        )
    return price


def _durations(raw: Any, where: str) -> Durations:
    table = _table(raw, where)
    _known_keys(table, {"min", "max", "allowed"}, where)
    if "allowed" in table:
        allowed = table["allowed"]
        if (
            not isinstance(allowed, list)
            or not allowed
            or not all(isinstance(v, int) and v > 0 for v in allowed)
        ):
            raise CatalogError(f"{where}.allowed: must list whole seconds > 0 (got {allowed!r})")
        values = tuple(sorted(set(allowed)))
        return Durations(values[0], values[-1], values)
    low, high = table.get("min"), table.get("max")
    if not (isinstance(low, int) and isinstance(high, int) and 0 < low <= high):
        raise CatalogError(f"{where}: needs whole seconds 0 < min ≤ max, or allowed = [...]")
    return Durations(low, high)


def _by_tier(raw: Any, where: str) -> dict[int, Any]:
    table = _table(raw, where)
    _known_keys(table, set(_TIERS), where)
    return {_TIERS[name]: value for name, value in table.items()}


def _references(raw: Any, roles: Mapping[str, str], where: str) -> References:
    table = _table(raw, where)
    _known_keys(table, {"field", "max", "excludes", "resolutions"}, where)
    name, count = table.get("field"), table.get("max")
    if not isinstance(name, str) or not name:
        raise CatalogError(f"{where}.field: must name the model's input field")
    if not isinstance(count, int) or count < 1:
        raise CatalogError(f"{where}.max: must be a whole number ≥ 1 (got {count!r})")
    excludes = tuple(table.get("excludes", ()))
    for role in excludes:
        if role not in roles:
            raise CatalogError(f"{where}.excludes: {role!r} is not one of the model's inputs")
    return References(name, count, excludes, tuple(table.get("resolutions", ())))


def _inputs(raw: Any, kind: Kind, where: str) -> dict[str, str]:
    table = _table(raw, where)
    _known_keys(table, set(_ROLES[kind]), where)
    required = _REQUIRED_ROLES.get(kind, "prompt")
    if required not in table:
        raise CatalogError(f"{where}: the {required!r} input is required")
    for role, name in table.items():
        if not isinstance(name, str) or not name:
            raise CatalogError(f"{where}.{role}: must name the model's input field")
    return dict(table)


_ENTRY_KEYS = {"kind", "official", "inputs", "fixed", "fixed_draft", "fixed_production",
               "durations", "resolutions", "aspect_ratios", "sizes", "references", "price"}  # fmt: skip


def _sizes(
    raw: Any, inputs: Mapping[str, str], where: str
) -> dict[str, dict[int, tuple[int, int]]]:
    """Pixel sizes per aspect ratio and tier, for models that take a width and height."""
    sizes = {
        aspect: {tier: (int(w), int(h)) for tier, (w, h) in _by_tier(per_tier, f"{where}.{aspect}").items()}
        for aspect, per_tier in _table(raw, where).items()
    }  # fmt: skip
    if "width" in inputs:
        for aspect in ASPECT_NAMES:
            if set(sizes.get(aspect, {})) != set(_TIERS.values()):
                raise CatalogError(
                    f"{where}.{aspect}: give the draft and production [width, height]"
                )
    return sizes


def _check_resolutions(
    resolutions: Mapping[int, str], inputs: Mapping[str, str], price: Price, where: str
) -> None:
    if "resolution" in inputs and set(resolutions) != set(_TIERS.values()):
        raise CatalogError(f"{where}.resolutions: name the draft and production resolutions")
    rates = price.per_second_micros
    for res in resolutions.values():
        if rates and "" not in rates and res not in rates:
            raise CatalogError(f"{where}.price.per_second: no price for resolution {res!r}")


def _entry(name: str, raw: Any, where: str) -> ModelEntry:
    table = _table(raw, where)
    _known_keys(table, _ENTRY_KEYS, where)
    kind = _FILE_KINDS.get(str(table.get("kind")))
    if kind is None:
        raise CatalogError(f"{where}.kind: must be one of {', '.join(_FILE_KINDS)}")
    inputs = _inputs(table.get("inputs"), kind, f"{where}.inputs")
    durations = table.get("durations")
    if kind in (Kind.CLIPS, Kind.MUSIC) and durations is None:
        raise CatalogError(f"{where}.durations: a {kind.value} model needs its accepted durations")
    resolutions = _by_tier(table.get("resolutions", {}), f"{where}.resolutions")
    price = _price(table.get("price"), f"{where}.price")
    _check_resolutions(resolutions, inputs, price, where)
    references = table.get("references")
    return ModelEntry(
        name=name,
        kind=kind,
        official=bool(table.get("official", False)),
        inputs=inputs,
        fixed=_table(table.get("fixed", {}), f"{where}.fixed"),
        fixed_by_tier={
            tier: _table(table.get(f"fixed_{label}", {}), f"{where}.fixed_{label}")
            for label, tier in _TIERS.items()
        },
        durations=_durations(durations, f"{where}.durations") if durations is not None else None,
        resolutions=resolutions,
        aspect_ratios=tuple(table.get("aspect_ratios", ())),
        sizes=_sizes(table.get("sizes", {}), inputs, f"{where}.sizes"),
        references=_references(references, inputs, f"{where}.references") if references else None,
        price=price,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise CatalogError(f"{path}: cannot be read ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path}: not valid TOML ({error})") from None


def _parse(path: Path) -> tuple[dict[str, ModelEntry], dict[tuple[Kind, int], str]]:
    data = _read(path)
    _known_keys(data, {"models", "defaults"}, str(path))
    models = {
        name: _entry(name, raw, f'{path}: models."{name}"')
        for name, raw in _table(data.get("models", {}), f"{path}: models").items()
    }
    defaults: dict[tuple[Kind, int], str] = {}
    for kind_name, per_tier in _table(data.get("defaults", {}), f"{path}: defaults").items():
        kind = _FILE_KINDS.get(kind_name)
        if kind is None:
            raise CatalogError(
                f"{path}: defaults.{kind_name}: not a kind ({', '.join(_FILE_KINDS)})"
            )
        for tier, name in _by_tier(per_tier, f"{path}: defaults.{kind_name}").items():
            defaults[kind, tier] = str(name)
    return models, defaults


@functools.cache
def load_catalog(extra: Path | None = None) -> ModelCatalog:
    """The bundled catalog, with ``extra``'s entries and defaults over it (read once per path)."""
    models, defaults = _parse(BUNDLED_CATALOG)
    if extra is not None:
        added, chosen = _parse(extra)
        models |= added
        defaults |= chosen
    for (kind, tier), name in defaults.items():
        entry = models.get(name)
        if entry is None or entry.kind is not kind:
            label = next(k for k, v in _TIERS.items() if v == tier)
            raise CatalogError(
                f"defaults.{kind.value}.{label}: {name!r} is not a {kind.value} model of the catalog"
            )
    return ModelCatalog(models, defaults)


# ---- choosing a model ------------------------------------------------------------------------


def base_model(ref: str) -> str:
    """ "owner/name" of a model reference, without a pinned ":version"."""
    return ref.split(":", 1)[0]


def needs_version(ref: str, catalog: ModelCatalog) -> bool:
    """Whether a create must name a version: not pinned, and not an official model."""
    entry = catalog.entry(ref)
    return ":" not in ref and not (entry is not None and entry.official)


def known_models(kind: Kind, catalog: ModelCatalog | None = None) -> tuple[str, ...]:
    """Every model reference (without version) a request of this kind may name."""
    return (*(catalog or load_catalog()).names(kind), ANIMATIC_MODELS[kind])


def resolve_tier(tier: int, settings: GeneratorSettings) -> common_pb2.Tier.ValueType:
    """Unspecified → the environment's tier (development → draft, production → production)."""
    if tier in (common_pb2.TIER_DRAFT, common_pb2.TIER_PRODUCTION):
        return common_pb2.Tier.ValueType(tier)
    return (
        common_pb2.TIER_PRODUCTION
        if settings.environment == "production"
        else common_pb2.TIER_DRAFT
    )


def resolve_provider(requested: str, settings: GeneratorSettings) -> str:
    """The request's provider, else VIDEO_PROVIDER; auto → replicate only when a token is set."""
    if requested:
        return requested
    if settings.video_provider == "auto":
        return REPLICATE if settings.replicate_api_token else ANIMATIC
    return settings.video_provider


def model_override(kind: Kind, settings: GeneratorSettings) -> str:
    """The REPLICATE_*MODEL setting of a kind ("" when unset)."""
    return {
        Kind.IMAGES: settings.replicate_image_model,
        Kind.CLIPS: settings.replicate_model,
        Kind.MUSIC: settings.replicate_music_model,
        Kind.VOICE: settings.replicate_voice_model,
    }[kind]


def resolve_model(
    kind: Kind, provider: str, requested: str, tier: int, settings: GeneratorSettings
) -> str:
    """The request's model, else the REPLICATE_*MODEL override, else the tier's default."""
    if provider == ANIMATIC:
        return ANIMATIC_MODELS[kind]
    if requested:
        return requested
    return model_override(kind, settings) or settings.model_catalog.defaults[kind, tier]
