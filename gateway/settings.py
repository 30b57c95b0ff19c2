"""Settings of the gateway, read from the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr

from reelforge.runtime.settings import CommonSettings


def _split_csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class GatewaySettings(CommonSettings):
    host: str = "0.0.0.0"
    """Listening address."""
    port: int = Field(default=8080, ge=0, le=65535)
    """HTTP port of the gateway."""
    planner_address: str = "localhost:50051"
    """The planner: `host:port` becomes `dns:///host:port` with `round_robin` over its A records; a
    gRPC target with a scheme is used as is, e.g. `ipv4:10.0.0.5:50051,10.0.0.6:50051` to balance
    over listed replicas."""
    generator_address: str = "localhost:50052"
    """The generator, like PLANNER_ADDRESS."""
    composer_address: str = "localhost:50053"
    """The composer, like PLANNER_ADDRESS."""
    studio_address: str = "localhost:50054"
    """The studio (ads), like PLANNER_ADDRESS."""
    upstream_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """Deadline of every unary upstream call (sent upstream as the gRPC deadline), except the
    planner's model calls."""
    # Moods, scene plans and brief extraction take minutes on a local LLM server.
    upstream_llm_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    """Deadline of the planner's model calls (`/api/brief/extract`, `/api/moods/generate`,
    `/api/scenes/plan`)."""
    header_timeout_s: float = Field(default=15.0, gt=0, le=600)
    """Time a connection has to send a complete request head; also how long an idle keep-alive
    connection stays open."""
    grace_period_s: float = Field(default=10.0, ge=0, le=300)
    """Drain time on SIGTERM."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    """Larger request bodies → 413."""
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    """Largest file POST /api/artifacts accepts (logos, product images, fonts); larger → 413."""
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    """Idle time before a heartbeat comment on a stream."""
    gateway_api_keys: SecretStr = SecretStr("")
    """Comma-separated bearer keys; empty: the API is open. When set, `Authorization: Bearer <key>`
    is required (not on `/` and `/web/*`, `/health`, `/metrics`, `/docs`, webhooks). Never logged."""
    cors_origins: str = ""
    """Comma-separated origins allowed by CORS; `*` allows any."""

    @property
    def api_keys(self) -> tuple[str, ...]:
        return _split_csv(self.gateway_api_keys.get_secret_value())

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return _split_csv(self.cors_origins)
