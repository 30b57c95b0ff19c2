"""Settings of the planner service, read from the environment."""

from pydantic import Field

from reelforge.runtime.settings import ServiceSettings


class PlannerSettings(ServiceSettings):
    port: int = Field(default=50051, ge=0, le=65535)
