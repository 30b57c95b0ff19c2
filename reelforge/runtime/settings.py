"""Typed settings read once from the environment; a bad value stops the process with one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reelforge.runtime.net_guard import IPNetwork, parse_networks

Environment = Literal["development", "production"]


class CommonSettings(BaseSettings):
    """Settings every process has. Names are the environment variables, upper-cased."""

    # A field's docstring is its description: scripts/settings_tables.py puts it in the READMEs.
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", frozen=True, use_attribute_docstrings=True
    )

    environment: Environment = "development"
    """`development` → draft tier (cheaper models, ≤720p, 1 image per mood); `production` → full
    quality."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Least severe log level written."""
    log_format: Literal["json", "text"] = "json"
    """`json`: one object per line, with request ids; `text`."""
    data_dir: Path = Path("data")
    """Databases and (unless ARTIFACTS_DIR is set) the artifact store live here."""
    artifacts_dir: Path | None = None
    """The artifact store; unset → DATA_DIR/artifacts. A shared volume when scaled out."""

    @property
    def artifacts_path(self) -> Path:
        return self.artifacts_dir or self.data_dir / "artifacts"


class ServiceSettings(CommonSettings):
    """Settings of a gRPC service process."""

    host: str = "0.0.0.0"
    """Listening address."""
    port: int = Field(default=0, ge=0, le=65535)
    """Listening port (0: any free one); each service overrides the default."""
    grace_period_s: float = Field(default=10.0, ge=0, le=300)
    """How long in-flight calls may finish after SIGTERM."""
    max_concurrent_rpcs: int = Field(default=1000, ge=1)
    """Calls served at once; gRPC refuses more with RESOURCE_EXHAUSTED."""
    database_url: str | None = None
    """PostgreSQL URL (`postgresql://…`); unset → SQLite in DATA_DIR."""
    fetch_allow_networks: str = ""
    """Comma-separated networks that URL inputs may reach although private or loopback (the SSRF
    guard refuses them otherwise), e.g. `127.0.0.0/8,::1`."""
    download_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    """Size limit of each downloaded file."""

    @field_validator("fetch_allow_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        parse_networks(value.split(","))  # raises ValueError naming the bad entry
        return value

    @property
    def allow_networks(self) -> list[IPNetwork]:
        return parse_networks(self.fetch_allow_networks.split(","))


_S = TypeVar("_S", bound=BaseSettings)


def describe_error(error: ValidationError) -> str:
    """One line naming each bad variable, its value and what is wrong."""
    parts = []
    for item in error.errors():
        name = "_".join(str(p) for p in item["loc"]).upper() or "settings"
        value = item.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float) else ""
        parts.append(f"{name}{shown}: {item['msg']}")
    return "invalid setting " + "; ".join(parts)


def load_settings(cls: type[_S]) -> _S:
    """Reads settings from the environment or exits 2 with a one-line message."""
    try:
        return cls()
    except ValidationError as error:
        print(f"reelforge: {describe_error(error)}", file=sys.stderr)
        raise SystemExit(2) from None
