"""Compositions live in the database (SQLite or PostgreSQL): listed in pages, resumed after a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.database import create_engine
from reelforge.runtime.database import database_url as resolve_url
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.repository import CompositionRepository
from services.composer.server import create_server
from tests.composer.helpers import Media, composer_settings, put, watch_all
from tests.grpc_helpers import field_violations, running_service

S = composer_pb2


async def test_list_pages_newest_first_and_filters(
    database_url: str | None, data_dir: Path, store: ArtifactStore, media: Media
) -> None:
    settings = composer_settings(data_dir, database_url=database_url)
    corrupt = (await store.put_file(media.corrupt, "video/mp4")).id
    request = S.ComposeRequest(clips=[S.ClipInput(source=corrupt)], height=320)
    async with running_service(create_server, settings) as (channel, _):
        stub = composer_pb2_grpc.ComposerServiceStub(channel)
        ids = [(await stub.Compose(request, timeout=10)).id for _ in range(5)]
        for composition_id in ids:
            await watch_all(stub, composition_id)

        pages, token = [], ""
        while True:
            page = await stub.ListCompositions(
                S.ListCompositionsRequest(page_size=2, page_token=token), timeout=5
            )
            pages.append([c.id for c in page.compositions])
            if not (token := page.next_page_token):
                break
        failed = await stub.ListCompositions(
            S.ListCompositionsRequest(state=S.COMPOSITION_STATE_FAILED), timeout=5
        )
        completed = await stub.ListCompositions(
            S.ListCompositionsRequest(state=S.COMPOSITION_STATE_COMPLETED), timeout=5
        )
        got = await stub.GetComposition(S.GetCompositionRequest(id=ids[0]), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetComposition(S.GetCompositionRequest(id="nope"), timeout=5)
        bad_token = await field_violations(
            stub.ListCompositions(S.ListCompositionsRequest(page_token="%%%"), timeout=5)
        )

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == ids[::-1]
    assert len(failed.compositions) == 5 and not completed.compositions
    assert got.state == S.COMPOSITION_STATE_FAILED and got.error.startswith("clips[0]: ")
    assert got.request == request
    assert got.created_at.ToMicroseconds() <= got.updated_at.ToMicroseconds()
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "page_token" in bad_token


async def test_interrupted_composition_is_rendered_at_start_up(
    database_url: str | None, data_dir: Path, store: ArtifactStore, media: Media
) -> None:
    settings = composer_settings(data_dir, database_url=database_url)
    clip = await put(store, media.clip_1s)
    request = S.ComposeRequest(clips=[S.ClipInput(source=clip)] * 2, height=320)
    # A previous process crashed mid-render: its row says COMPOSING at 40 %.
    engine = create_engine(resolve_url(settings.database_url, data_dir, "composer"))
    repository = CompositionRepository(engine)
    await repository.create_schema()
    row = await repository.create(request)
    await repository.update(row.id, state="COMPOSING", percent=40.0, message="encoding")
    await engine.dispose()

    async with running_service(create_server, settings) as (channel, _):
        stub = composer_pb2_grpc.ComposerServiceStub(channel)
        seen = await watch_all(stub, row.id)

    assert seen[-1].state == S.COMPOSITION_STATE_COMPLETED, seen[-1].error
    assert abs(seen[-1].duration_seconds - 1.5) < 0.06
    assert store.path_for(seen[-1].output.id).exists()


async def test_replayed_compose_returns_its_composition_rendered_once(
    database_url: str | None, data_dir: Path, store: ArtifactStore, media: Media
) -> None:
    settings = composer_settings(data_dir, database_url=database_url)
    clip = await put(store, media.clip_1s)
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip)] * 2, height=320, request_id="ad-7/compose"
    )
    async with running_service(create_server, settings) as (channel, _):
        stub = composer_pb2_grpc.ComposerServiceStub(channel)
        # Four at once (a retried call racing the first), then one after the render.
        racing = await asyncio.gather(*(stub.Compose(request, timeout=10) for _ in range(4)))
        seen = await watch_all(stub, racing[0].id)
        replayed = await stub.Compose(request, timeout=10)
        other = await stub.Compose(S.ComposeRequest(clips=request.clips, height=320), timeout=10)
        await watch_all(stub, other.id)
        listed = await stub.ListCompositions(S.ListCompositionsRequest(), timeout=5)

    assert {c.id for c in racing} == {racing[0].id}
    assert seen[-1].state == S.COMPOSITION_STATE_COMPLETED, seen[-1].error
    assert replayed.id == racing[0].id and replayed.output == seen[-1].output
    assert replayed.updated_at == seen[-1].updated_at, "the replay changed nothing"
    assert sorted(c.id for c in listed.compositions) == sorted([racing[0].id, other.id])
