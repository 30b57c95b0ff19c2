"""Two generator and two composer replicas on one PostgreSQL database and one artifact store,
behind one gateway that balances over both (gRPC `ipv4:` targets, round_robin)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import free_port, fresh_database
from tests.reliability.processes import ServiceProcess
from tests.scaleout.helpers import LEASE_TTL_S, REPLICAS, Cluster


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the test (both services' tables), dropped afterwards."""
    async with fresh_database("scaleout") as url:
        yield url


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(latency_s=0.3) as server:
        yield server


def _replica_env(
    base: Mapping[str, str], data_dir: Path, artifacts: Path, database_url: str, port: int
) -> dict[str, str]:
    return {
        **base,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "ARTIFACTS_DIR": str(artifacts),
        "DATABASE_URL": database_url,
        "LEASE_TTL_S": str(LEASE_TTL_S),
        "LOG_FORMAT": "text",
        "GRACE_PERIOD_S": "1",
        "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
    }


@pytest.fixture
async def cluster(
    pg_url: str, fake: FakeReplicate, subprocess_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Cluster]:
    """Starts every replica and the gateway, ready; kills whatever is still running at the end."""
    artifacts = tmp_path / "shared-artifacts"
    generator_env = {
        "REPLICATE_API_TOKEN": fake.token,
        "REPLICATE_BASE_URL": fake.base_url,
        "POLL_INITIAL_S": "0.1",
        "POLL_MAX_S": "0.3",
        "RETRY_BASE_S": "0.05",
        "REPLICATE_REQUEST_TIMEOUT_S": "5",
    }
    replicas: dict[str, ServiceProcess] = {}
    for service in ("generator", "composer"):
        for replica in REPLICAS:
            label = f"{service}-{replica}"
            port = free_port()
            env = _replica_env(subprocess_env, tmp_path / label, artifacts, pg_url, port)
            if service == "generator":
                env.update(generator_env)
            replicas[label] = ServiceProcess(service, env, port, tmp_path / f"{label}.log")

    def targets(service: str) -> str:
        ports = [str(replicas[f"{service}-{r}"].port) for r in REPLICAS]
        return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)

    gateway_port = free_port()
    gateway_env = {
        **subprocess_env,
        "HOST": "127.0.0.1",
        "PORT": str(gateway_port),
        "LOG_FORMAT": "text",
        "GENERATOR_ADDRESS": targets("generator"),
        "COMPOSER_ADDRESS": targets("composer"),
        "PLANNER_ADDRESS": f"127.0.0.1:{free_port()}",  # not started: these tests never plan
    }
    gateway = ServiceProcess("gateway", gateway_env, gateway_port, tmp_path / "gateway.log")
    everything = [*replicas.values(), gateway]
    try:
        for process in everything:
            await process.start()
        for process in everything:
            await process.ready()
        yield Cluster(replicas, gateway, artifacts, pg_url)
    finally:
        for process in everything:
            with contextlib.suppress(Exception):
                await process.kill()
