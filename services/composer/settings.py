"""Settings of the composer service, read from the environment."""

from pydantic import Field

from reelforge.runtime.settings import ServiceSettings


class ComposerSettings(ServiceSettings):
    port: int = Field(default=50053, ge=0, le=65535)
