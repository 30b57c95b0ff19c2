"""The SSRF guard refuses private, loopback, link-local and metadata addresses unless allow-listed."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from aiohttp import web

from reelforge.runtime.downloads import DownloadError, download, guarded_session
from reelforge.runtime.net_guard import (
    BlockedURL,
    check_url_literal,
    parse_networks,
    resolve_checked,
)

BLOCKED = [
    "http://127.0.0.1/x",
    "http://10.0.0.1/x",
    "http://172.16.5.4/x",
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/x",
    "http://[fe80::1]/x",
    "http://[fc00::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://0.0.0.0/x",
    "http://localhost/x",
    "ftp://example.com/x",
    "file:///etc/passwd",
]
# Hosts the HTTP client (yarl's IDNA/UTS-46 mapping) turns into 127.0.0.1 although they are
# not ASCII IP literals: full-width digits, ideographic full stops, circled digits.
UNICODE_LOOPBACKS = [
    "１２７.０.０.１",
    "127。0。0。1",
    "①②⑦.0.0.1",
    "１２７．０．０．１",
    "ｌｏｃａｌｈｏｓｔ",
]


@pytest.mark.parametrize(
    "url", [*BLOCKED, *(f"http://{host}:8080/x" for host in UNICODE_LOOPBACKS)]
)
def test_literal_private_addresses_are_refused(url: str) -> None:
    """Also the Unicode spellings of loopback: refused as loopback, before any lookup."""
    with pytest.raises(BlockedURL, match=r"is not allowed|must be an http\(s\) URL"):
        check_url_literal(url, [])


def test_public_address_passes_and_allow_list_opens() -> None:
    check_url_literal("https://93.184.216.34/a.png", [])
    check_url_literal("http://127.0.0.1:9/x", parse_networks(["127.0.0.0/8"]))
    with pytest.raises(BlockedURL):
        check_url_literal("http://10.1.1.1/x", parse_networks(["127.0.0.0/8"]))


async def test_names_are_checked_after_resolution() -> None:
    # The machine's own host name is not caught by the literal check, and resolves to
    # a loopback or private address: only the post-resolution check can refuse it.
    name = socket.gethostname()
    resolved = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    if all(ipaddress.ip_address(a).is_global for a in resolved):
        pytest.skip(f"{name} resolves to a public address here")
    url = f"http://{name}:8080/x"
    check_url_literal(url, [])
    with pytest.raises(BlockedURL):
        await resolve_checked(url, [])
    allow = parse_networks(["0.0.0.0/0", "::/0"])
    assert {str(a) for a in await resolve_checked(url, allow)} == resolved


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def test_download_retries_limits_and_redirect_checks(tmp_path: Path) -> None:
    calls = {"flaky": 0}

    async def flaky(request: web.Request) -> web.Response:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            return web.Response(status=503)
        return web.Response(body=b"data", content_type="video/mp4")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def to_metadata(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data")

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", to_metadata)
    runner, port = await _serve(app)
    allow = parse_networks(["127.0.0.0/8"])
    base = f"http://127.0.0.1:{port}"
    try:
        async with guarded_session(allow) as session:
            dest = tmp_path / "out"
            kind = await download(
                session, f"{base}/flaky", dest, max_bytes=100, allow=allow, backoff_s=0.01
            )
            assert kind == "video/mp4" and dest.read_bytes() == b"data" and calls["flaky"] == 2
            with pytest.raises(DownloadError, match="limit"):
                await download(session, f"{base}/big", dest, max_bytes=100, allow=allow)
            with pytest.raises(DownloadError, match="refused"):
                await download(session, f"{base}/redirect", dest, max_bytes=100, allow=allow)
        async with guarded_session([]) as session:
            with pytest.raises(DownloadError, match="refused"):
                await download(session, f"{base}/flaky", dest, max_bytes=100)
            # A name passes the literal check; the connector's resolver refuses its address.
            by_name = f"http://{socket.gethostname()}:{port}/flaky"
            with pytest.raises(DownloadError, match="refused"):
                await download(session, by_name, dest, max_bytes=100)
    finally:
        await runner.cleanup()


async def test_unicode_hosts_never_reach_a_loopback_server(tmp_path: Path) -> None:
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"secret")

    async def bounce(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/secret", record)
    app.router.add_get("/bounce", bounce)
    runner, port = await _serve(app)
    dest = tmp_path / "out"
    try:
        async with guarded_session([]) as session:
            for host in UNICODE_LOOPBACKS:
                with pytest.raises(DownloadError, match=r"refused.*not allowed"):
                    await download(session, f"http://{host}:{port}/secret", dest, max_bytes=100)
        # A redirect to a Unicode spelling, from a server the allow-list opens on purpose.
        allow = parse_networks(["127.0.0.2/32"])
        bounce_url = f"http://127.0.0.2:{port}/bounce?to=http://１２７.０.０.１:{port}/secret"
        second = web.TCPSite(runner, "127.0.0.2", port)
        await second.start()
        async with guarded_session(allow) as session:
            with pytest.raises(DownloadError, match=r"refused.*not allowed"):
                await download(session, bounce_url, dest, max_bytes=100, allow=allow)
    finally:
        await runner.cleanup()
    assert hits == []


async def test_the_connected_address_itself_is_checked() -> None:
    """The session refuses a private address even when no literal check ran before it."""

    async def reached(request: web.Request) -> web.Response:
        return web.Response(text="reached")

    app = web.Application()
    app.router.add_get("/", reached)
    runner, port = await _serve(app)
    try:
        async with guarded_session([]) as session:
            with pytest.raises(BlockedURL, match="not allowed"):
                async with session.get(f"http://127.0.0.1:{port}/"):
                    pass
    finally:
        await runner.cleanup()
