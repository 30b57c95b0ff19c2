"""A service host's cleanups all run at stop, newest first, even when one of them fails; a failed
start-up closes what it opened; constructing a server opens nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reelforge.runtime.server import Resources, build_host
from reelforge.runtime.settings import ServiceSettings
from services.composer.server import create_server as create_composer
from services.composer.settings import ComposerSettings


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


class _FailingStart:
    """A lifecycle whose start-up fails after it opened one resource."""

    def __init__(self, fail_in: str, ran: list[str]) -> None:
        self._fail_in = fail_in
        self._ran = ran

    async def open(self, resources: Resources) -> None:
        async def close_database() -> None:
            self._ran.append("database closed")

        resources.on_close(close_database)
        if self._fail_in == "open":
            raise OSError("listener could not connect")

    async def resume(self) -> None:
        raise OSError("resume failed")


@pytest.mark.parametrize("fail_in", ["open", "resume"])
async def test_a_failed_start_up_closes_what_it_opened(fail_in: str) -> None:
    ran: list[str] = []
    settings = ServiceSettings(host="127.0.0.1", port=0)
    host, _port = await build_host(settings, [], [], _FailingStart(fail_in, ran))
    with pytest.raises(OSError):
        async with host:
            ran.append("served")  # never: start-up failed

    assert ran == ["database closed"]


async def test_create_server_opens_nothing_until_the_host_starts(tmp_path: Path) -> None:
    settings = ComposerSettings(host="127.0.0.1", port=0, data_dir=tmp_path)
    host, _port = await create_composer(settings)
    assert not _databases(tmp_path), "the database was opened at construction"

    async with host:
        assert _databases(tmp_path), "the database opens when the host starts"


def _databases(root: Path) -> list[Path]:
    return list(root.rglob("*.db"))
