"""The artifact store addresses files by sha256 and refuses anything that is not an id."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reelforge.runtime.artifacts import ArtifactStore


async def test_put_bytes_is_content_addressed(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    meta = await store.put_bytes(b"hello", "text/plain")
    assert meta.id == hashlib.sha256(b"hello").hexdigest()
    assert store.path_for(meta.id).read_bytes() == b"hello"
    assert store.get(meta.id) == meta
    assert meta.to_proto().uri == f"/api/artifacts/{meta.id}"
    again = await store.put_bytes(b"hello", "text/plain")
    assert again == meta


async def test_put_file_outside_store_copies_it(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    src = tmp_path / "clip.bin"
    src.write_bytes(b"x" * 3000)
    meta = await store.put_file(src, "application/octet-stream")
    assert src.exists() and meta.size_bytes == 3000


@pytest.mark.parametrize("bad", ["../etc/passwd", "/etc/passwd", "A" * 64, "ab", "%2e%2e"])
def test_non_ids_are_refused(tmp_path: Path, bad: str) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ValueError):
        store.path_for(bad)
    assert store.get(bad) is None
