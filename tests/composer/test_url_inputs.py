"""URL inputs: downloaded from an allow-listed local server; private and metadata addresses refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.server import create_server
from tests.composer.helpers import Media, compose_and_wait, composer_settings
from tests.grpc_helpers import running_service

if TYPE_CHECKING:
    Stub = composer_pb2_grpc.ComposerServiceAsyncStub

S = composer_pb2


@pytest.fixture
async def media_server(media: Media) -> AsyncIterator[str]:
    """A loopback HTTP server with the test media (and a redirect to a metadata address)."""
    app = web.Application()
    files = {"clip1.mp4": media.clip_1s, "music.m4a": media.music, "clip2.mp4": media.clip_2s}

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "to-metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        if name not in files:
            raise web.HTTPNotFound()
        return web.FileResponse(files[name])

    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_allow_listed_loopback_urls_are_downloaded(media_server: str, data_dir: Path) -> None:
    settings = composer_settings(data_dir, fetch_allow_networks="127.0.0.0/8")
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=f"{media_server}/clip1.mp4")] * 2,
        music=f"{media_server}/music.m4a",
        height=320,
    )
    async with running_service(create_server, settings) as (channel, _):
        done = await compose_and_wait(composer_pb2_grpc.ComposerServiceStub(channel), request)
    assert done.state == S.COMPOSITION_STATE_COMPLETED, done.error
    assert abs(done.duration_seconds - 1.5) < 0.06
    assert done.audio_codec == "aac"


async def test_url_clip_shorter_than_target_fails_naming_it(
    media_server: str, data_dir: Path
) -> None:
    settings = composer_settings(data_dir, fetch_allow_networks="127.0.0.0/8")
    request = S.ComposeRequest(
        clips=[
            S.ClipInput(source=f"{media_server}/clip2.mp4", target_duration_seconds=2),
            S.ClipInput(source=f"{media_server}/clip1.mp4", target_duration_seconds=3),
        ],
        height=320,
    )
    async with running_service(create_server, settings) as (channel, _):
        done = await compose_and_wait(composer_pb2_grpc.ComposerServiceStub(channel), request)
    assert done.state == S.COMPOSITION_STATE_FAILED
    assert done.error.startswith("clips[1]: ") and "shorter than" in done.error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/clip1.mp4",
        "http://10.0.0.1/clip.mp4",
        "http://[::1]:{port}/clip1.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "{base}/to-metadata",
    ],
    ids=["loopback", "private", "ipv6-loopback", "metadata", "redirect-to-metadata"],
)
async def test_private_addresses_are_refused(url: str, media_server: str, data_dir: Path) -> None:
    port = media_server.rsplit(":", 1)[1]
    source = url.format(port=port, base=media_server)
    # Only the redirect case needs the first hop allowed; its second hop must still be refused.
    allow = "127.0.0.0/8" if "to-metadata" in url else ""
    settings = composer_settings(data_dir, fetch_allow_networks=allow)
    request = S.ComposeRequest(clips=[S.ClipInput(source=source)], height=320)
    async with running_service(create_server, settings) as (channel, _):
        done = await compose_and_wait(composer_pb2_grpc.ComposerServiceStub(channel), request)
    assert done.state == S.COMPOSITION_STATE_FAILED
    assert done.error.startswith("clips[0]: URL refused"), done.error
