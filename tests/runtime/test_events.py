"""Every watcher of a key gets every snapshot; leaving costs nothing."""

from __future__ import annotations

import asyncio

from reelforge.runtime.events import Broadcaster


async def test_fan_out_to_many_watchers() -> None:
    hub: Broadcaster[int] = Broadcaster()

    async def watch() -> list[int]:
        seen = []
        with hub.subscribe("job") as updates:
            ready.release()
            async for value in updates:
                seen.append(value)
                if value == 3:
                    return seen
        return seen

    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(watch()) for _ in range(3)]
    for _ in tasks:
        await ready.acquire()
    for value in (1, 2, 3):
        hub.publish("job", value)
    assert await asyncio.gather(*tasks) == [[1, 2, 3]] * 3
    assert hub.watchers("job") == 0


async def test_a_slow_watcher_gets_fewer_snapshots_never_a_stale_one_last() -> None:
    hub: Broadcaster[int] = Broadcaster()
    published = 500  # far more than a watcher's queue holds
    with hub.subscribe("job") as updates:
        for value in range(published):
            hub.publish("job", value)  # never blocks, however slow the watcher
        seen = [await anext(updates)]
        while seen[-1] != published - 1:
            seen.append(await anext(updates))
    assert len(seen) < published, "a slow watcher's backlog is bounded"
    assert seen == sorted(seen), "snapshots arrive in order: never an older after a newer"
    assert seen[-1] == published - 1, "the newest snapshot always arrives"


def test_watched_keys_are_the_keys_someone_subscribes_to_now() -> None:
    hub: Broadcaster[int] = Broadcaster()
    assert hub.watched_keys() == []
    with hub.subscribe("a"), hub.subscribe("b"), hub.subscribe("b"):
        assert sorted(hub.watched_keys()) == ["a", "b"]
        with hub.subscribe("c"):
            assert sorted(hub.watched_keys()) == ["a", "b", "c"]
        assert sorted(hub.watched_keys()) == ["a", "b"], "a key goes with its last watcher"
    assert hub.watched_keys() == []
