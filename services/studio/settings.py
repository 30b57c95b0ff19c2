"""Settings of the studio service, read from the environment (name = field, upper-cased)."""

from __future__ import annotations

from pydantic import Field

from reelforge.runtime.settings import ServiceSettings


class StudioSettings(ServiceSettings):
    port: int = Field(default=50054, ge=0, le=65535)
    """gRPC port of the studio."""
    planner_address: str = "localhost:50051"
    """Planner host:port (or a gRPC target such as ipv4:a:p,b:p)."""
    generator_address: str = "localhost:50052"
    """Generator host:port (or a gRPC target)."""
    composer_address: str = "localhost:50053"
    """Composer host:port (or a gRPC target)."""
    planner_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    """Deadline of one planner call (moods, scene plan): minutes on a local LLM."""
    call_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Deadline of one unary call to the generator or composer (starting or cancelling work; waiting
    for it is a stream without a deadline)."""
    retry_interval_s: float = Field(default=1.0, gt=0, le=60)
    """Pause before calling a child service again after it was unavailable (restarting): the ad
    waits for it instead of failing."""
    lease_ttl_s: float = Field(default=30.0, ge=0.5, le=3600)
    """Replicas sharing one database run only the ads they lease; a dead replica's ads are taken
    over once its lease expires (renewed every TTL/3, claimed every TTL/2)."""
