"""The output fetcher at a stop: a store whose caller was cancelled (the item's runner stopping)
leaves no "Task exception was never retrieved" behind, and closing the fetcher ends the stores
still running. ffprobe is replaced by a probe the test releases, so the order is certain."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import MediaError, MediaInfo
from reelforge.v1 import generator_pb2 as pb
from services.generator import outputs
from services.generator.outputs import OutputFetcher
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings, generator


class HeldProbe:
    """ffprobe, held until ``release``; then it refuses the file."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, path: Path) -> MediaInfo:
        self.started.set()
        await self.release.wait()
        raise MediaError(f"{path.name}: Invalid data found when processing input")


@pytest.fixture
def held_probe(monkeypatch: pytest.MonkeyPatch) -> HeldProbe:
    probe = HeldProbe()
    monkeypatch.setattr(outputs, "probe", probe)
    return probe


def _stores() -> list[asyncio.Task[Any]]:
    """The fetcher's store tasks alive now."""
    return [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "OutputFetcher._probe_and_put"
    ]


async def _caller(tmp_path: Path, probe: HeldProbe) -> tuple[OutputFetcher, asyncio.Task[Any]]:
    """A fetcher, and a caller storing a file whose probe has started (and is held)."""
    fetcher = OutputFetcher(ArtifactStore(tmp_path / "artifacts"), [], max_bytes=1 << 20)
    path = tmp_path / "output.bin"
    path.write_bytes(b"not media" * 100)
    caller = asyncio.create_task(fetcher.store_file(path))
    await probe.started.wait()
    return fetcher, caller


async def test_a_store_failing_after_its_caller_was_cancelled_reports_nothing(
    tmp_path: Path, held_probe: HeldProbe
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        fetcher, caller = await _caller(tmp_path, held_probe)
        (store,) = _stores()
        caller.cancel()  # the item's runner stops while the probe runs
        with pytest.raises(asyncio.CancelledError):
            await caller
        held_probe.release.set()  # the probe refuses the file: the store fails, unawaited
        await asyncio.wait([store])
        assert store.done() and not store.cancelled()  # (its exception is not asked for here)
        del store, caller
        gc.collect()  # asyncio reports an unretrieved exception when its task is collected
        await fetcher.aclose()
    finally:
        loop.set_exception_handler(None)
    assert [c.get("message") for c in reported] == []


async def test_closing_the_fetcher_ends_the_stores_in_flight(
    tmp_path: Path, held_probe: HeldProbe
) -> None:
    fetcher, caller = await _caller(tmp_path, held_probe)
    (store,) = _stores()
    await fetcher.aclose()  # the service stops while the probe runs
    assert store.cancelled()
    with pytest.raises(asyncio.CancelledError):
        await caller


async def test_a_generator_stopped_while_storing_an_output_reports_nothing(
    held_probe: HeldProbe, fake: FakeReplicate, make_settings: MakeSettings
) -> None:
    """The whole service's stop, with an item storing its output: its runner is cancelled, the
    store ends with the fetcher, and nothing surfaces afterwards when the probe would have
    failed it (before: "Task exception was never retrieved" at the loop's teardown)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        request = pb.GenerateImagesRequest(images=[pb.ImageSpec(prompt="a bottle")])
        async with generator(make_settings()) as stub:
            await stub.GenerateImages(request, timeout=5)
            await held_probe.started.wait()  # the output is downloaded; its probe runs
            (store,) = _stores()
        held_probe.release.set()  # stopped: were the store still running, it would fail now
        await asyncio.wait([store])
        del store
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert [c.get("message") for c in reported] == []
