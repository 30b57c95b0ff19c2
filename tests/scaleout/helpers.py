"""Helpers of the scale-out tests: the replicas and gateway a test runs, and their lease TTL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.reliability.processes import ServiceProcess

LEASE_TTL_S = 3.0
REPLICAS = ("a", "b")


@dataclass
class Cluster:
    """Replicas by label ("generator-a", "composer-b", ...) and the gateway in front of them."""

    replicas: dict[str, ServiceProcess]
    gateway: ServiceProcess
    artifacts: Path
    database_url: str

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def label_of(self, owner: str) -> str:
        """The replica whose process wrote a lease owner id ("host:pid:nonce")."""
        pid = int(owner.split(":")[-2])
        return next(
            label
            for label, replica in self.replicas.items()
            if replica.proc is not None and replica.proc.pid == pid
        )

    async def query(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()
