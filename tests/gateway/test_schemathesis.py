"""Property-based conformance: schemathesis drives a live gateway from its own /openapi.json."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from gateway.app import create_app
from reelforge.runtime.settings import ServiceSettings
from services.planner.server import create_server as create_planner
from services.planner.settings import PlannerSettings
from services.studio.server import create_server as create_studio
from tests.gateway.helpers import (
    AiohttpClient,
    Servicers,
    gateway_settings,
    running_hosts,
    servicer_host,
    studio_for,
)

_MAX_EXAMPLES = 10


@pytest.fixture
async def mixed_ports(servicers: Servicers, data_dir: Path) -> AsyncIterator[dict[str, int]]:
    """The real planner (offline provider) plus the generator and composer test servicers."""
    common: dict[str, Any] = {"port": 0, "host": "127.0.0.1", "data_dir": data_dir}
    settings = ServiceSettings(**common)
    hosts = [
        await create_planner(PlannerSettings(**common, planner_provider="offline")),
        await servicer_host(settings, servicers, "generator"),
        await servicer_host(settings, servicers, "composer"),
    ]
    hosts.append(await create_studio(studio_for(hosts, data_dir)))
    async with running_hosts(hosts) as ports:
        yield ports


def _assert_no_server_error(response: schemathesis.Response) -> None:
    # No RPC is a scaffold any more (no 501) and every upstream is running (no 503).
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url} → {response.status_code} "
        f"{response.text[:500]}"
    )


def _fuzz(spec: dict[str, Any], base_url: str) -> list[str]:
    """Runs every non-streaming operation; returns the operations run (blocking: call in a thread)."""
    schema = schemathesis.openapi.from_dict(spec)
    ran: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.definition.raw.get("x-server-streaming"):
            continue  # streams are covered by test_sse.py

        @hypothesis.settings(
            max_examples=_MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=base_url, timeout=10)
            _assert_no_server_error(response)
            case.validate_response(
                response,
                checks=[
                    response_schema_conformance,
                    status_code_conformance,
                    content_type_conformance,
                ],
            )

        check()
        ran.append(operation.label)
    return ran


async def test_gateway_conforms_to_its_openapi(
    mixed_ports: dict[str, int],
    data_dir: Path,
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(create_app(gateway_settings(mixed_ports, data_dir)))
    base_url = str(client.make_url("")).rstrip("/")
    spec = await (await client.get("/openapi.json")).json()
    ran = await asyncio.to_thread(_fuzz, spec, base_url)
    assert "POST /api/moods/generate" in ran and "GET /api/jobs/{job_id}" in ran
