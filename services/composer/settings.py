"""Settings of the composer service, read from the environment."""

from __future__ import annotations

from pathlib import Path

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
    segment_cache_mb: int = Field(default=4096, ge=0)
    """Renders keep each scene's encoded pieces in a cache of this size (MB), so a re-compose
    encodes only what changed; 0 renders every ad in one pass."""
    segment_cache_dir: Path | None = None
    """Folder of the segment cache; unset → DATA_DIR/composer-segments. Replicas may share it."""
    segment_jobs: int = Field(default=1, ge=1, le=16)
    """Pieces of one ad encoded at once; each x264 already uses every core."""

    @property
    def segment_cache_path(self) -> Path:
        return self.segment_cache_dir or self.data_dir / "composer-segments"
