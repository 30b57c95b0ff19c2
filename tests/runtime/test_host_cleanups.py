"""A service host's cleanups all run at stop, newest first, even when one of them fails."""

from __future__ import annotations

import logging

import pytest

from reelforge.runtime.server import build_host
from reelforge.runtime.settings import ServiceSettings


async def test_a_failing_cleanup_does_not_skip_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host, _port = await build_host(ServiceSettings(host="127.0.0.1", port=0), [], [])
    ran: list[str] = []

    async def close_database() -> None:
        ran.append("database")

    async def close_http_session() -> None:
        ran.append("http session")
        raise OSError("connection reset while closing")

    async def stop_workers() -> None:
        ran.append("workers")

    for cleanup in (close_database, close_http_session, stop_workers):
        host.add_cleanup(cleanup)
    await host.start()
    with caplog.at_level(logging.ERROR):
        await host.stop(0)
        await host.stop(0)  # idempotent: nothing runs twice

    assert ran == ["workers", "http session", "database"]
    assert "close_http_session" in caplog.text
