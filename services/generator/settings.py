"""Settings of the generator service, read from the environment."""

from pydantic import Field

from reelforge.runtime.settings import ServiceSettings


class GeneratorSettings(ServiceSettings):
    port: int = Field(default=50052, ge=0, le=65535)
