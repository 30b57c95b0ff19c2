"""Artifact downloads: ETag, 304, byte ranges (206/416), attachments, and no path tricks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from reelforge.runtime.artifacts import ArtifactMeta, ArtifactStore
from tests.gateway.helpers import Servicers

DATA = bytes(range(256)) * 40  # 10,240 bytes
ARTIFACT_ID = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
async def stored(data_dir: Path) -> ArtifactMeta:
    # The gateway's default store: DATA_DIR/artifacts.
    return await ArtifactStore(data_dir / "artifacts").put_bytes(DATA, "video/mp4")


async def test_whole_artifact(client: TestClient[Any, Any], stored: ArtifactMeta) -> None:
    response = await client.get(f"/api/artifacts/{stored.id}")
    assert response.status == 200
    assert await response.read() == DATA
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["ETag"] == f'"{ARTIFACT_ID}"'
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Content-Disposition" not in response.headers


async def test_if_none_match_is_304(client: TestClient[Any, Any], stored: ArtifactMeta) -> None:
    response = await client.get(
        f"/api/artifacts/{stored.id}", headers={"If-None-Match": f'"other", "{stored.id}"'}
    )
    assert response.status == 304
    assert await response.read() == b""


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=1000-", 1000, len(DATA)),
        ("bytes=-10", len(DATA) - 10, len(DATA)),
        ("bytes=10000-99999", 10000, len(DATA)),
    ],
)
async def test_range_returns_exactly_those_bytes(
    client: TestClient[Any, Any], stored: ArtifactMeta, header: str, start: int, stop: int
) -> None:
    response = await client.get(f"/api/artifacts/{stored.id}", headers={"Range": header})
    assert response.status == 206
    assert await response.read() == DATA[start:stop]
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert response.headers["Content-Length"] == str(stop - start)


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=500-100", "bytes=abc"])
async def test_unsatisfiable_range_is_416(
    client: TestClient[Any, Any], stored: ArtifactMeta, header: str
) -> None:
    response = await client.get(f"/api/artifacts/{stored.id}", headers={"Range": header})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


async def test_if_range_with_another_etag_sends_everything(
    client: TestClient[Any, Any], stored: ArtifactMeta
) -> None:
    response = await client.get(
        f"/api/artifacts/{stored.id}", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
    )
    assert response.status == 200
    assert len(await response.read()) == len(DATA)


@pytest.mark.parametrize(
    "path",
    [
        "/api/artifacts/..%2f..%2fetc%2fpasswd",
        "/api/artifacts/%2e%2e",
        "/api/artifacts/%2fetc%2fpasswd",
        "/api/artifacts/../../etc/passwd",
        "/api/artifacts/" + ARTIFACT_ID.upper(),
        "/api/artifacts/" + ARTIFACT_ID[:-1],
        "/api/artifacts/" + "0" * 64,  # well-formed but not stored
    ],
)
async def test_bad_ids_never_reach_the_file_system(
    client: TestClient[Any, Any], stored: ArtifactMeta, path: str
) -> None:
    response = await client.get(path)
    assert response.status in (400, 404)
    assert response.headers["Content-Type"].startswith("application/json")


async def test_composition_download_is_an_attachment(
    client: TestClient[Any, Any], stored: ArtifactMeta, servicers: Servicers
) -> None:
    servicers.composer.output.CopyFrom(stored.to_proto())
    response = await client.get("/api/composition/download/done", headers={"Range": "bytes=0-4"})
    assert response.status == 206
    assert await response.read() == DATA[:5]
    assert response.headers["Content-Disposition"] == 'attachment; filename="reelforge-done.mp4"'


async def test_download_before_completion_is_412(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/composition/download/busy")
    assert response.status == 412
    assert "COMPOSITION_STATE_COMPOSING" in (await response.json())["message"]
