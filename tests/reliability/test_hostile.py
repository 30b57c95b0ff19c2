"""Hostile input through the real gateway and services: every answer is a 4xx JSON error that
names the problem (never a 500, a raw aiohttp page, a hang or a server path)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp.test_utils import TestClient
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor

from reelforge.v1 import composer_pb2, generator_pb2, planner_pb2
from tests.fakes.replicate_server import sign_webhook
from tests.reliability.helpers import Stack, in_process_stack
from tests.reliability.production_gateway import production_gateway

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
API_KEY = "hostile-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# A connection that never completes its request head is closed after HEADER_TIMEOUT_S; the bound
# asserted is generous (a loaded machine), the point is that it is finite.
HEADER_TIMEOUT_S = 0.5
CLOSED_WITHIN_S = 15.0


GATEWAY = {
    "gateway_api_keys": API_KEY,
    "cors_origins": "https://app.example",
    "header_timeout_s": HEADER_TIMEOUT_S,
}


@pytest.fixture
async def stack(data_dir: Path) -> AsyncIterator[Stack]:
    generator = {"replicate_webhook_secret": SECRET, "video_provider": "animatic"}
    async with in_process_stack(data_dir, generator=generator, gateway=GATEWAY) as built:
        yield built


@pytest.fixture
async def port(stack: Stack, data_dir: Path) -> AsyncIterator[int]:
    """The port of a production-configured gateway over the same services (for raw bytes)."""
    async with production_gateway(stack, data_dir, **GATEWAY) as gateway_port:
        yield gateway_port


async def _error(http: TestClient[Any, Any], method: str, path: str, **kwargs: Any) -> Any:
    """The JSON error of a request that must be refused with a 4xx."""
    headers = {**AUTH, **kwargs.pop("headers", {})}
    async with http.request(method, path, headers=headers, **kwargs) as answer:
        text = await answer.text()
        assert 400 <= answer.status < 500, (method, path, answer.status, text[:300])
        assert answer.content_type == "application/json", (path, text[:300])
        body = json.loads(text)
    assert set(body) == {"code", "message", "details"}, body
    return answer.status, body


def _fields(body: dict[str, Any]) -> set[str]:
    return {
        violation["field"]
        for detail in body["details"]
        for violation in detail.get("fieldViolations", [])
    }


async def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes as they are (no client library tidies them) and reads the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


# ---- gRPC: bytes that are not the request message ---------------------------------------------


def _methods() -> list[MethodDescriptor]:
    pool = descriptor_pool.Default()
    names = ["reelforge.v1.PlannerService", "reelforge.v1.GeneratorService"]
    names.append("reelforge.v1.ComposerService")
    assert planner_pb2 and generator_pb2 and composer_pb2  # registers the descriptors
    return [m for name in names for m in pool.FindServiceByName(name).methods]


async def test_undecodable_request_bytes_are_invalid_argument(stack: Stack) -> None:
    ports = {"PlannerService": "planner", "GeneratorService": "generator"}
    ports["ComposerService"] = "composer"
    for method in _methods():
        port = stack.ports[ports[method.containing_service.name]]
        path = f"/{method.containing_service.full_name}/{method.name}"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            # A truncated length-delimited field: no protobuf message decodes from it.
            garbage = b"\x0a\xff\xff\xff\x0f"
            if method.server_streaming:
                stream: Any = channel.unary_stream(path)
                call = stream(garbage, timeout=10)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call.read()
            else:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    unary: Any = channel.unary_unary(path)
                    await unary(garbage, timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, refused.value)
        assert "not a valid" in str(refused.value.details()), refused.value.details()


# ---- list filters and page tokens -------------------------------------------------------------


def _token(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode()


HOSTILE_TOKENS = [
    _token(b"[" * 2_000 + b"]" * 2_000),  # RecursionError in json.loads (URL stays < 8 KiB)
    _token(b'[1e999, "x"]'),  # inf → int(): OverflowError
    _token([10**400, "x"]),  # int → float(): OverflowError
    _token([2**70, "x"]),  # SQLite: Python int too large to convert to SQLite INTEGER
    _token([-(2**70), "x"]),
    _token([1, "x" * 3_000]),
    _token({"a": 1}),
    _token([1, ["x"]]),
    "%%%",
    "x" * 5_000,
]


async def test_unknown_enum_filters_are_400(stack: Stack) -> None:
    for path, field in (
        ("/api/jobs?kind=99", "kind"),
        ("/api/jobs?state=99", "state"),
        ("/api/jobs?kind=-1", "kind"),
        ("/api/compositions?state=99", "state"),
    ):
        status, body = await _error(stack.http, "GET", path)
        assert status == 400 and field in _fields(body), (path, body)


async def test_hostile_page_tokens_are_400(stack: Stack) -> None:
    for token in HOSTILE_TOKENS:
        for path in ("/api/jobs", "/api/compositions"):
            status, body = await _error(stack.http, "GET", path, params={"pageToken": token})
            assert status == 400 and "page_token" in _fields(body), (path, token[:40], body)


# ---- ids and URLs -----------------------------------------------------------------------------


async def test_huge_ids_are_400_naming_the_field(stack: Stack) -> None:
    long_id = "j" * 8000
    for method, path, field in (
        ("GET", f"/api/jobs/{long_id}", "job_id"),
        ("GET", f"/api/video/status/{long_id}", "job_id"),
        ("POST", f"/api/jobs/{long_id}/cancel", "job_id"),
        ("POST", f"/api/jobs/{long_id}/retry", "job_id"),
        ("GET", f"/api/jobs/{long_id}/events", "job_id"),
        ("GET", f"/api/composition/status/{long_id}", "id"),
        ("POST", f"/api/composition/{long_id}/cancel", "id"),
        ("GET", f"/api/composition/{long_id}/events", "id"),
        ("GET", f"/api/composition/download/{long_id}", "id"),
    ):
        status, body = await _error(stack.http, method, path)
        assert status == 400 and field in _fields(body), (method, path[:40], status, body)
        assert long_id not in body["message"]


async def test_generator_urls_are_capped_like_the_composers(stack: Stack) -> None:
    url = "https://example.com/" + "a" * 5000 + ".png"
    body = {"clips": [{"prompt": "long url", "image": url, "durationSeconds": 1}]}
    status, answer = await _error(stack.http, "POST", "/api/video/generate", json=body)
    assert status == 400 and "clips[0].image" in _fields(answer), answer


# ---- webhooks and API keys --------------------------------------------------------------------


def _webhook_head(port: int, headers: list[bytes], body: bytes) -> bytes:
    lines = [
        b"POST /api/webhooks/replicate HTTP/1.1",
        f"Host: 127.0.0.1:{port}".encode(),
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
        b"Connection: close",
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def test_hostile_webhook_headers_are_refused(port: int) -> None:
    body = b'{"id": "p1", "status": "succeeded"}'
    now = str(int(time.time()))
    good_signature = sign_webhook(SECRET, "msg_1", now, body).encode()
    cases = {
        "400-digit timestamp": [b"webhook-id: msg_1", b"webhook-timestamp: " + b"9" * 400,
                                b"webhook-signature: " + good_signature],
        "non-ASCII signature": [b"webhook-id: msg_1", b"webhook-timestamp: " + now.encode(),
                                "webhook-signature: v1,ÿé€".encode()],
        "\\xff byte in a header": [b"webhook-id: msg_\xff", b"webhook-timestamp: " + now.encode(),
                                   b"webhook-signature: " + good_signature],
        "\\xff in another header": [b"x-junk: \xff\xfe", b"webhook-id: msg_1",
                                    b"webhook-timestamp: " + now.encode(),
                                    b"webhook-signature: " + good_signature],
        "huge webhook-id": [b"webhook-id: " + b"m" * 4000, b"webhook-timestamp: " + now.encode(),
                            b"webhook-signature: " + good_signature],
    }  # fmt: skip
    for name, headers in cases.items():
        status, answer_headers, raw = await _raw(port, _webhook_head(port, headers, body))
        assert status in (400, 401), (name, status, raw[:300])
        assert answer_headers.get("content-type", "").startswith("application/json"), name
        assert json.loads(raw)["code"] in ("INVALID_ARGUMENT", "UNAUTHENTICATED"), (name, raw)


async def test_non_ascii_authorization_is_401(port: int) -> None:
    for value in ("Bearer ключ".encode(), b"Bearer \xff\xfe", "Bеarer ключ".encode()):
        request = (
            b"GET /api/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
            + value
            + b"\r\n\r\n"
        )
        status, _headers, raw = await _raw(port, request)
        assert status == 401, (value, status, raw[:300])
        assert json.loads(raw)["code"] == "UNAUTHENTICATED"


# ---- artifacts ---------------------------------------------------------------------------------


async def test_artifact_ids_and_ranges(stack: Stack, data_dir: Path) -> None:
    from reelforge.runtime.artifacts import ArtifactStore

    meta = await ArtifactStore(data_dir / "artifacts").put_bytes(b"0123456789", "image/png")
    path = f"/api/artifacts/{meta.id}"
    for bad in ("bytes=-0", "bytes=10-", "bytes=5-2"):
        status, _ = await _error(stack.http, "GET", path, headers={"Range": bad})
        assert status == 416, bad
    status, body = await _error(stack.http, "GET", path + "%0A")
    assert status == 400 and "id" in _fields(body), body
    async with stack.http.get(path, headers={**AUTH, "Range": "bytes=-3"}) as tail:
        assert tail.status == 206 and await tail.read() == b"789"


# ---- HTTP parsing, CORS, slow clients ----------------------------------------------------------


async def test_malformed_http_is_a_json_400(port: int) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    for name, request in {
        "bad Content-Length": b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "huge header": head + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        "control character": head + b"X-Ctl: a\x01b\x00c\r\n\r\n",
        "not HTTP": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    }.items():
        status, headers, raw = await _raw(port, request)
        assert 400 <= status < 500, (name, status, raw[:200])
        assert headers.get("content-type", "").startswith("application/json"), (name, raw[:200])
        assert json.loads(raw)["code"] in ("INVALID_ARGUMENT", "PAYLOAD_TOO_LARGE"), raw


async def test_cors_refusal_has_a_json_body(stack: Stack) -> None:
    status, body = await _error(
        stack.http,
        "OPTIONS",
        "/api/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert status == 403 and body["code"] == "PERMISSION_DENIED", body
    assert "https://evil.example" in body["message"]


async def test_a_slow_request_head_is_cut_off(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        await writer.drain()
        while time.monotonic() - started < CLOSED_WITHIN_S:
            writer.write(b"X-Drip: 1\r\n")  # a slowloris keeps the head growing
            await writer.drain()
            chunk = await asyncio.wait_for(reader.read(1024), timeout=CLOSED_WITHIN_S)
            if not chunk:
                break
            await asyncio.sleep(0.1)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    assert time.monotonic() - started < CLOSED_WITHIN_S, "the connection was never closed"
