"""POST /api/artifacts: brand files are stored content-addressed after their bytes are checked;
anything else is refused with a JSON error and leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from tests.gateway.helpers import ClientFactory


def _png(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 30, 30, 128)).save(out, "PNG")
    return out.getvalue()


_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40"><rect width="120" height="40" fill="#0af"/></svg>'
_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _stored_files(data_dir: Path) -> list[Path]:
    root = data_dir / "artifacts"
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts]


async def test_a_png_is_stored_and_served_back(
    client: TestClient[Any, Any], data_dir: Path
) -> None:
    data = _png()
    response = await client.post("/api/artifacts", data=data, headers={"Content-Type": "image/png"})
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["id"] == hashlib.sha256(data).hexdigest()
    assert (body["mimeType"], body["width"], body["height"]) == ("image/png", 40, 20)
    assert response.headers["Location"] == f"/api/artifacts/{body['id']}"

    again = await client.post("/api/artifacts", data=data)  # no type declared: the bytes say
    assert (await again.json())["id"] == body["id"]
    served = await client.get(body["uri"])
    assert await served.read() == data
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("data", "mime", "width"),
    [(_SVG, "image/svg+xml", 120), (_FONT.read_bytes(), "font/ttf", 0)],
)
async def test_a_logo_svg_and_a_font_are_accepted(
    client: TestClient[Any, Any], data: bytes, mime: str, width: int
) -> None:
    response = await client.post("/api/artifacts", data=data, headers={"Content-Type": mime})
    assert response.status == 201, await response.text()
    body = await response.json()
    assert (body["mimeType"], body["width"]) == (mime, width)


_HOSTILE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "handler": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "external": b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><image x:href="http://169.254.169.254/x.png"/></svg>',
    "entity": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
    "foreign": b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>',
    "broken": b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>',
}


@pytest.mark.parametrize("case", sorted(_HOSTILE_SVGS))
async def test_hostile_svgs_are_refused(
    client: TestClient[Any, Any], data_dir: Path, case: str
) -> None:
    response = await client.post(
        "/api/artifacts", data=_HOSTILE_SVGS[case], headers={"Content-Type": "image/svg+xml"}
    )
    assert response.status == 400, await response.text()
    body = await response.json()
    assert body["message"] and body["details"][0]["fieldViolations"][0]["field"] == "body"
    assert _stored_files(data_dir) == []


@pytest.mark.parametrize(
    ("data", "declared", "status"),
    [
        (b"GIF89a" + b"\x00" * 100, "image/gif", 415),  # a type we do not take
        (_png(), "image/jpeg", 415),  # the bytes contradict the header
        (b"%PDF-1.7 ...", "", 415),
        (_png()[:60], "image/png", 400),  # truncated
        (b"", "image/png", 400),
        (_png(9000, 10), "image/png", 400),  # past the pixel budget
    ],
)
async def test_bad_files_get_a_clear_error_and_leave_nothing(
    client: TestClient[Any, Any], data_dir: Path, data: bytes, declared: str, status: int
) -> None:
    headers = {"Content-Type": declared} if declared else {}
    response = await client.post("/api/artifacts", data=data, headers=headers)
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    assert "Traceback" not in await response.text()
    assert _stored_files(data_dir) == []
    assert list((data_dir / "artifacts" / ".tmp").iterdir()) == []


async def test_uploads_over_the_limit_are_413(make_client: ClientFactory, data_dir: Path) -> None:
    client = await make_client(upload_max_bytes=1000, max_body_bytes=50)
    small = _png(8, 8)
    assert 50 < len(small) < 1000
    ok = await client.post("/api/artifacts", data=small)  # past MAX_BODY_BYTES, under the limit
    assert ok.status == 201

    out = io.BytesIO()
    Image.frombytes("L", (64, 64), os.urandom(64 * 64)).save(out, "PNG")  # noise: no compression
    big = out.getvalue()
    assert len(big) > 1000
    assert (await client.post("/api/artifacts", data=big)).status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"\x89PNG\r\n\x1a\n" + b"\x00" * 100

    streamed = await client.post("/api/artifacts", data=chunks())
    assert streamed.status == 413
    assert len(_stored_files(data_dir)) == 2  # the small PNG: file and sidecar
