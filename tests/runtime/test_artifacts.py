"""The artifact store addresses files by sha256 and refuses anything that is not an id."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reelforge.runtime.artifacts import STALE_TEMP_S, ArtifactStore


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


def test_leftovers_of_a_killed_writer_are_removed_at_start_up(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from reelforge.runtime.artifacts import ArtifactStore\n"
        "tmp = ArtifactStore(Path(sys.argv[1])).temp_path('.mp4')\n"
        "tmp.write_bytes(b'half a render')\n"
        "print(tmp, flush=True)\n"
        "time.sleep(600)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(root)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert writer.stdout is not None
    leftover = Path(writer.stdout.readline().strip())
    live = ArtifactStore(root).temp_path()  # this process's own write in progress
    assert ArtifactStore(root).removed_leftovers == 0 and leftover.exists()  # writer alive
    writer.send_signal(signal.SIGKILL)  # no cleanup runs
    writer.wait()
    foreign_old = root / ".tmp" / "otherhost.1.abc"
    foreign_new = root / ".tmp" / "otherhost.2.abc"
    for path in (foreign_old, foreign_new):
        path.write_bytes(b"x")
    old = time.time() - STALE_TEMP_S - 60
    os.utime(foreign_old, (old, old))
    store = ArtifactStore(root)
    assert store.removed_leftovers == 2
    assert not leftover.exists() and not foreign_old.exists()
    assert live.exists() and foreign_new.exists()  # a live writer's file, a replica's fresh one
