"""Settings of the generator service, read once from the environment (name = field, upper-cased)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from reelforge.runtime.settings import ServiceSettings

ProviderChoice = Literal["replicate", "animatic", "auto"]


class GeneratorSettings(ServiceSettings):
    port: int = Field(default=50052, ge=0, le=65535)

    # Provider choice: auto → replicate when REPLICATE_API_TOKEN is set, else the offline animatic.
    video_provider: ProviderChoice = "auto"
    replicate_api_token: str = ""
    replicate_base_url: str = ""  # empty → https://api.replicate.com (tests point it at the fake)
    replicate_model: str = ""  # clip model override ("owner/name" or "owner/name:version")
    replicate_image_model: str = ""
    replicate_music_model: str = ""
    replicate_webhook_secret: str = ""  # "whsec_..."; required to accept webhooks
    replicate_request_timeout_s: float = Field(default=30.0, gt=0, le=600)
    replicate_creates_per_minute: int = Field(default=600, ge=1)
    # Connections to Replicate (requests beyond wait for one). Calls take milliseconds while
    # predictions run server-side, so a few connections carry hundreds of items.
    replicate_max_connections: int = Field(default=32, ge=1, le=1000)

    # Webhooks: set → predictions report to PUBLIC_URL/api/webhooks/replicate (polling stays a safety net).
    public_url: str = ""
    webhook_tolerance_s: float = Field(default=300.0, gt=0)
    # Delivery ids are kept this long for dedupe (never less than the tolerance), pruned hourly.
    webhook_retention_s: float = Field(default=86_400.0, gt=0)
    webhook_prune_interval_s: float = Field(default=3_600.0, gt=0)

    # Concurrency: items in flight at once, overall and per model.
    max_parallel_items: int = Field(default=32, ge=1, le=10_000)
    max_parallel_per_model: int = Field(default=16, ge=1, le=10_000)

    # Waiting: polling back-off without webhooks, the slow safety-net poll with them, the deadline.
    poll_initial_s: float = Field(default=1.0, gt=0)
    poll_max_s: float = Field(default=10.0, gt=0)
    poll_factor: float = Field(default=1.5, ge=1.0)
    webhook_safety_poll_s: float = Field(default=60.0, gt=0)
    item_deadline_s: float = Field(default=600.0, gt=0)

    # Retries of provider calls (network errors, 429, 5xx): exponential back-off with full jitter.
    # A 429's Retry-After (or its body's "resets in ~30s") sets the pause instead. Retries stop
    # after RETRY_MAX_ATTEMPTS tries (rate limits excepted) or RETRY_BUDGET_S of trying,
    # whichever comes first, and never outlast the item's deadline.
    retry_max_attempts: int = Field(default=5, ge=1, le=50)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=30.0, gt=0)
    retry_budget_s: float = Field(default=180.0, gt=0)
    # Replicate's prediction list shows a new prediction only after a while: a create whose
    # answer was lost is looked for this long before it is sent again (a second paid one).
    list_consistency_s: float = Field(default=15.0, ge=0)

    # Offline animatic renderer: frame height per tier (width follows the aspect ratio), fps, CPU pool.
    animatic_draft_height: int = Field(default=1280, ge=16, le=4096)
    animatic_production_height: int = Field(default=1920, ge=16, le=4096)
    animatic_fps: int = Field(default=24, ge=1, le=60)
    animatic_workers: int = Field(default=2, ge=1, le=64)

    # Replicas sharing one database run only the items they lease; a dead replica's items are
    # claimed by another once its lease expires (renewed every TTL/3, claims every TTL/2).
    lease_ttl_s: float = Field(default=30.0, ge=0.5, le=3600)

    # Table name prefix, so several deployments (or tests) can share one PostgreSQL database.
    generator_table_prefix: str = Field(default="generator_", pattern=r"^[a-z][a-z0-9_]{0,40}$")

    @field_validator("public_url", "replicate_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def webhooks_enabled(self) -> bool:
        return bool(self.public_url)
