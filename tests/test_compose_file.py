"""docker-compose.yml, checked structurally (no Docker engine runs here)."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic_settings import BaseSettings

from gateway.settings import GatewaySettings
from services.composer.settings import ComposerSettings
from services.generator.settings import GeneratorSettings
from services.planner.settings import PlannerSettings
from services.studio.settings import StudioSettings
from tests.helpers import ROOT

SETTINGS: dict[str, type[BaseSettings]] = {
    "planner": PlannerSettings,
    "generator": GeneratorSettings,
    "composer": ComposerSettings,
    "studio": StudioSettings,
    "gateway": GatewaySettings,
}
GRPC_PORTS = {"planner": 50051, "generator": 50052, "composer": 50053, "studio": 50054}


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def setting_names(cls: type[BaseSettings]) -> set[str]:
    return {name.upper() for name in cls.model_fields}


def test_one_container_per_service_with_health_checks() -> None:
    services = compose()["services"]
    assert set(SETTINGS) <= set(services)
    for name, port in GRPC_PORTS.items():
        check = services[name]["healthcheck"]["test"]
        assert "grpc.health.v1.Health/Check" in check and f"localhost:{port}" in check
        assert services[name]["command"][-1] == f"services.{name}"
    assert "/health" in " ".join(services["gateway"]["healthcheck"]["test"])
    assert "8080:8080" in services["gateway"]["ports"]


def test_every_environment_name_is_a_real_setting() -> None:
    services = compose()["services"]
    for name, cls in SETTINGS.items():
        unknown = set(services[name]["environment"]) - setting_names(cls)
        assert not unknown, f"{name} sets variables it does not read: {sorted(unknown)}"


def test_shared_artifacts_volume_and_postgres_profile() -> None:
    data = compose()
    services = data["services"]
    assert "artifacts" in data["volumes"]
    for name in ("generator", "composer"):
        assert "artifacts:/artifacts" in services[name]["volumes"]
    for name in ("generator", "composer", "studio"):
        assert "DATABASE_URL" in services[name]["environment"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert "ports" not in services["composer"], "a fixed host port would stop --scale composer=N"
    assert "ports" not in services["studio"], "a fixed host port would stop --scale studio=N"


def test_the_gateway_reaches_the_studio() -> None:
    services = compose()["services"]
    assert services["gateway"]["environment"]["STUDIO_ADDRESS"] == "studio:50054"
    assert "studio" in services["gateway"]["depends_on"]
    for child in ("planner", "generator", "composer"):
        address = services["studio"]["environment"][f"{child.upper()}_ADDRESS"]
        assert address == f"{child}:{GRPC_PORTS[child]}"
