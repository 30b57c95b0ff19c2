"""Settings of the generator service, read once from the environment (name = field, upper-cased)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from reelforge.runtime.settings import ServiceSettings
from services.generator.catalog import Kind, ModelCatalog, load_catalog, model_override

ProviderChoice = Literal["replicate", "animatic", "auto"]


class GeneratorSettings(ServiceSettings):
    port: int = Field(default=50052, ge=0, le=65535)
    """gRPC port of the generator."""

    # Provider choice and Replicate access.
    video_provider: ProviderChoice = "auto"
    """`replicate`, `animatic` (offline), or `auto`: replicate when REPLICATE_API_TOKEN is set, else
    the animatic. A request's `provider` overrides it."""
    replicate_api_token: str = ""
    """Replicate API token."""
    replicate_base_url: str = ""
    """Empty → https://api.replicate.com (tests point it at a fake)."""
    replicate_model: str = ""
    """Clip model override (`owner/name` or `owner/name:version`); empty → the tier's model."""
    replicate_image_model: str = ""
    """Image model override; empty → the tier's model."""
    replicate_music_model: str = ""
    """Music model override; empty → the tier's model."""
    replicate_voice_model: str = ""
    """Voice (text-to-speech) model override; empty → the tier's model."""
    model_catalog_path: Path | None = Field(default=None, validate_default=True)
    """A TOML file of Replicate models added to the bundled catalog
    (`services/generator/models.toml`; same-named entries and `[defaults]` replace the bundled
    ones). Both are checked at start-up; unset → the bundled catalog alone."""
    replicate_webhook_secret: str = ""
    """`whsec_…`: the signing secret; required to accept webhooks."""
    replicate_request_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Time limit of one call to Replicate."""
    replicate_creates_per_minute: int = Field(default=600, ge=1)
    """Predictions created per minute at most (a rate limiter)."""
    # Calls take milliseconds while predictions run server-side, so a few connections carry
    # hundreds of items.
    replicate_max_connections: int = Field(default=32, ge=1, le=1000)
    """Connections to Replicate; requests beyond them wait for one."""

    # Webhooks: polling stays a safety net.
    public_url: str = ""
    """Set → predictions report to PUBLIC_URL/api/webhooks/replicate."""

    @property
    def webhooks_enabled(self) -> bool:
        """Replicate calls back (PUBLIC_URL set); else polling alone follows predictions."""
        return bool(self.public_url)

    webhook_tolerance_s: float = Field(default=300.0, gt=0)
    """How far a webhook's signed timestamp may be from now (older: a replay)."""
    webhook_retention_s: float = Field(default=86_400.0, gt=0)
    """Delivery ids are kept this long for dedupe (never less than the tolerance)."""
    webhook_prune_interval_s: float = Field(default=3_600.0, gt=0)
    """How often old delivery ids are pruned."""

    # Concurrency.
    max_parallel_items: int = Field(default=32, ge=1, le=10_000)
    """Items in flight at once, overall."""
    max_parallel_per_model: int = Field(default=16, ge=1, le=10_000)
    """Items in flight at once, per model."""

    # Waiting: polling back-off without webhooks, the slow safety-net poll with them, the deadline.
    poll_initial_s: float = Field(default=1.0, gt=0)
    """First pause between polls of a prediction."""
    poll_max_s: float = Field(default=10.0, gt=0)
    """Longest pause between polls."""
    poll_factor: float = Field(default=1.5, ge=1.0)
    """Each poll's pause is the last one times this."""
    webhook_safety_poll_s: float = Field(default=60.0, gt=0)
    """Pause between polls while webhooks are on."""
    item_deadline_s: float = Field(default=600.0, gt=0)
    """An item without a result this long after its first create ends FAILED (RetryJob reruns it)."""

    # Retries of provider calls (network errors, 429, 5xx): exponential back-off with full jitter.
    retry_max_attempts: int = Field(default=5, ge=1, le=50)
    """Tries of one provider call (rate limits excepted: they are budgeted by time only)."""
    retry_base_s: float = Field(default=1.0, gt=0)
    """First back-off; a 429's announced reset replaces it."""
    retry_max_s: float = Field(default=30.0, gt=0)
    """Longest back-off."""
    retry_budget_s: float = Field(default=180.0, gt=0)
    """Time spent retrying one call at most (never past the item's deadline)."""
    list_consistency_s: float = Field(default=15.0, ge=0)
    """Replicate lists a new prediction only after a while: a create whose answer was lost is looked
    for this long before it is sent again."""

    # Offline animatic renderer: width follows the aspect ratio.
    animatic_draft_height: int = Field(default=1280, ge=16, le=4096)
    """Frame height of draft-tier animatics."""
    animatic_production_height: int = Field(default=1920, ge=16, le=4096)
    """Frame height of production-tier animatics."""
    animatic_fps: int = Field(default=30, ge=1, le=60)
    """Frame rate of animatics."""
    animatic_workers: int = Field(default=2, ge=1, le=64)
    """Animatic renders at once (threads driving FFmpeg)."""

    lease_ttl_s: float = Field(default=30.0, ge=0.5, le=3600)
    """Replicas sharing one database run only the items they lease; a dead replica's items are
    claimed by another once its lease expires (renewed every TTL/3, claims every TTL/2)."""
    generator_table_prefix: str = Field(default="generator_", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    """Table name prefix, so several deployments (or tests) can share one PostgreSQL database."""

    @field_validator("public_url", "replicate_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("model_catalog_path")
    @classmethod
    def _catalog_loads(cls, value: Path | None) -> Path | None:
        load_catalog(value)  # raises CatalogError naming the file, the entry and the key
        return value

    @model_validator(mode="after")
    def _overrides_in_catalog(self) -> Self:
        for kind in Kind:
            ref = model_override(kind, self)
            if ref and ref.split(":", 1)[0] not in self.model_catalog.names(kind):
                raise ValueError(
                    f"the {kind.value} model override {ref!r} is not a {kind.value} model of "
                    "the catalog (add it to MODEL_CATALOG_PATH's file)"
                )
        return self

    @property
    def model_catalog(self) -> ModelCatalog:
        """The models this service can run on Replicate (read once per file)."""
        return load_catalog(self.model_catalog_path)
