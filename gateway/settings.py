"""Settings of the gateway, read from the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr

from reelforge.runtime.settings import CommonSettings


def _split_csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class GatewaySettings(CommonSettings):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    planner_address: str = (
        "localhost:50051"  # host:port; a DNS name with several A records is balanced round-robin
    )
    generator_address: str = "localhost:50052"
    composer_address: str = "localhost:50053"
    studio_address: str = "localhost:50054"  # the studio (ads); host:port like the others
    # Deadline of every unary upstream call, sent upstream as the gRPC deadline...
    upstream_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # ...except the planner's model calls (moods, scene plans, brief extraction), which take
    # minutes on a local LLM server: these get UPSTREAM_LLM_TIMEOUT_S.
    upstream_llm_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    # How long a connection may take to send a complete request head (also the idle keep-alive).
    header_timeout_s: float = Field(default=15.0, gt=0, le=600)
    grace_period_s: float = Field(default=10.0, ge=0, le=300)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)  # larger request bodies → 413
    # POST /api/artifacts (logos, product images, fonts) streams past MAX_BODY_BYTES up to this.
    upload_max_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1,
        description="Largest file POST /api/artifacts accepts (logos, product images, fonts); larger → 413",
    )
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=300)  # comment line on idle streams
    # Comma-separated bearer keys; empty means the API is open. Never logged.
    gateway_api_keys: SecretStr = SecretStr("")
    cors_origins: str = ""  # comma-separated origins allowed by CORS; "*" allows any

    @property
    def api_keys(self) -> tuple[str, ...]:
        return _split_csv(self.gateway_api_keys.get_secret_value())

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return _split_csv(self.cors_origins)
