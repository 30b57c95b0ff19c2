"""Helpers every test folder shares: the repository root, free ports, polling, the PostgreSQL rule.

The rule: a PostgreSQL test skips on a machine without PostgreSQL, but under ``CI=true`` it
fails instead (tests/conftest.py's hooks also fail a CI run that skipped one some other way).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import grpc
import pytest

from reelforge.runtime.server import ServiceHost
from reelforge.runtime.settings import ServiceSettings
from tests.grpc_helpers import running_service

ROOT = Path(__file__).resolve().parent.parent
_Settings = TypeVar("_Settings", bound=ServiceSettings)
_Stub = TypeVar("_Stub")

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_UNREACHABLE = "PostgreSQL at 127.0.0.1:5432 is not reachable"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def postgres_unreachable() -> NoReturn:
    """Skips the calling PostgreSQL test; under CI=true fails it (all lease coverage is there)."""
    if in_ci():
        pytest.fail(f"{POSTGRES_UNREACHABLE} (CI=true: PostgreSQL tests may not skip)", False)
    pytest.skip(POSTGRES_UNREACHABLE)


async def postgres_admin(statement: str) -> None:
    """Runs one statement on the test cluster (as its superuser, in the ``test`` database)."""
    conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards (skips or fails without one)."""
    try:
        await postgres_admin("SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError):
        postgres_unreachable()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def service_stub(
    create_server: Callable[[_Settings], Awaitable[tuple[ServiceHost, int]]],
    settings: _Settings,
    stub: Callable[[grpc.aio.Channel], _Stub],
) -> AsyncIterator[_Stub]:
    """A real server on port 0 and ``stub`` (a generated ``*ServiceStub``) over a real channel."""
    async with running_service(create_server, settings) as (channel, _port):
        yield stub(channel)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(
    condition: Callable[[], Any], *, timeout_s: float = 20.0, what: str = ""
) -> Any:
    """Polls ``condition`` (plain or async) until it returns something truthy, and returns that.

    Fails the test at the deadline.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        assert time.monotonic() < deadline, (
            f"timed out after {timeout_s:g} s waiting for {what or condition}"
        )
        await asyncio.sleep(0.05)
