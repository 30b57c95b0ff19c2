"""Settings of the gateway, read from the environment."""

from pydantic import Field

from reelforge.runtime.settings import CommonSettings


class GatewaySettings(CommonSettings):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    planner_address: str = (
        "localhost:50051"  # host:port; a DNS name with several A records is balanced round-robin
    )
    generator_address: str = "localhost:50052"
    composer_address: str = "localhost:50053"
    upstream_timeout_s: float = Field(
        default=30.0, gt=0, le=600
    )  # deadline of every unary upstream call
    grace_period_s: float = Field(default=10.0, ge=0, le=300)
