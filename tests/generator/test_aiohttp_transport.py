"""The httpx-over-aiohttp transport: answers arrive as httpx would give them, failures as httpx raises them."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.generator.providers.aiohttp_transport import AiohttpTransport


async def _echo(request: web.Request) -> web.Response:
    body = json.dumps({"method": request.method, "auth": request.headers.get("Authorization"),
                       "body": (await request.read()).decode()}).encode()  # fmt: skip
    return web.Response(
        body=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json", "X-Two": "a"},
        status=201,
    )


async def _slow(_request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text="late")


async def _drop(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.close()
    raise asyncio.CancelledError


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/echo", _echo)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/drop", _drop)
    async with TestServer(app) as test_server:
        yield str(test_server.make_url("")).rstrip("/")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=4), timeout=httpx.Timeout(0.5)
    ) as http:
        yield http


async def test_request_and_answer_pass_through(server: str, client: httpx.AsyncClient) -> None:
    answer = await client.post(
        f"{server}/echo", json={"input": {"prompt": "x"}}, headers={"Authorization": "Bearer t"}
    )
    assert answer.status_code == 201 and answer.headers["x-two"] == "a"
    echoed = answer.json()  # gzip decoded once, by httpx
    assert echoed["method"] == "POST" and echoed["auth"] == "Bearer t"
    assert json.loads(echoed["body"]) == {"input": {"prompt": "x"}}


async def test_read_timeout(server: str, client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.get(f"{server}/slow")


async def test_dropped_connection(server: str, client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"{server}/drop")


async def test_refused_connection(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: the connect is refused
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
