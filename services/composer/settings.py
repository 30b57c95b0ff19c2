"""Settings of the composer service, read from the environment."""

from __future__ import annotations

from pydantic import Field

from reelforge.runtime.settings import ServiceSettings


class ComposerSettings(ServiceSettings):
    port: int = Field(default=50053, ge=0, le=65535)
    """gRPC port of the composer."""
    max_concurrent_renders: int = Field(default=1, ge=1, le=16)
    """Renders running at once; each FFmpeg already uses every core, so more only adds memory. The
    rest wait PENDING."""
    progress_interval_s: float = Field(default=0.25, gt=0, le=10)
    """Watchers get a progress message at most this often (state changes go out at once)."""
    render_timeout_s: float = Field(default=1800.0, gt=0)
    """A render running longer than this is killed and fails."""
    download_attempts: int = Field(default=3, ge=1, le=10)
    """Tries to download each URL input."""
    download_timeout_s: float = Field(default=120.0, gt=0)
    """Time limit of one download try of a URL input."""
    ffmpeg_threads: int = Field(default=0, ge=0, le=64)
    """FFmpeg's `-threads`; 0 lets FFmpeg pick (all cores)."""
    lease_ttl_s: float = Field(default=30.0, ge=0.5, le=3600)
    """Replicas sharing one database render only the compositions they lease; a dead replica's
    renders are claimed by another once its lease expires (renewed every TTL/3, claims every
    TTL/2)."""
    composer_table_prefix: str = Field(default="composer_", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    """Prefix of the composer's table names and NOTIFY channel, so several deployments (or tests)
    can share one PostgreSQL database."""
