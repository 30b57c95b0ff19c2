"""Content-addressed artifact store: files named by their sha256, with a JSON sidecar of metadata.

Layout: ``ROOT/ab/cd/<sha256>`` plus ``<sha256>.json``. Writes go to a temporary
file in ``ROOT/.tmp`` and are renamed into place, so a reader never sees half a
file and two writers of the same content race harmlessly. The directory may be
a volume shared by several replicas.

A process killed mid-write leaves its temporary files behind. Each is named
``<host>.<pid>.…`` after its writer, so a store opened at start-up removes the
ones whose writer was on this host and is gone, and (the volume being shared)
anyone's untouched for ``STALE_TEMP_S``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from reelforge.runtime.media import Extent, MediaInfo
from reelforge.v1 import common_pb2

STALE_TEMP_S = 6 * 3600.0  # no write takes this long without touching its file
_ID_PATTERN = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_LOGGER = logging.getLogger(__name__)


def _safe(host: str) -> str:
    return "".join(c for c in host if c.isalnum() or c == "-")[:40] or "host"


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_artifact_id(value: str) -> bool:
    """True for a lower-case hex sha256, the only shape an artifact id has."""
    # fullmatch: `$` in a pattern also matches before a trailing newline ("<sha256>\n").
    return bool(_ID_PATTERN.fullmatch(value))


@dataclass(frozen=True, kw_only=True)
class ArtifactMeta(Extent):
    """A stored file: its id (the sha256 of its bytes), its type and its extent."""

    id: str
    mime_type: str

    def to_proto(self) -> common_pb2.Artifact:
        return common_pb2.Artifact(**asdict(self), uri=f"/api/artifacts/{self.id}")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore:
    """Stores and finds artifacts under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._prefix = f"{_safe(socket.gethostname())}.{os.getpid()}."
        self.removed_leftovers = self._remove_leftovers()

    def _remove_leftovers(self) -> int:
        """Deletes temporary files of dead writers; returns how many."""
        removed = 0
        now = time.time()
        host = self._prefix.split(".", 1)[0]
        for entry in self._tmp.iterdir():
            try:
                writer_host, pid, _ = entry.name.split(".", 2)
                mine_and_dead = writer_host == host and not _alive(int(pid))
            except ValueError:  # not a name of ours: judge by age alone
                mine_and_dead = False
            try:
                if mine_and_dead or now - entry.stat().st_mtime > STALE_TEMP_S:
                    entry.unlink()
                    removed += 1
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                continue  # renamed into place meanwhile, or not ours to remove
        if removed:
            _LOGGER.info("removed %d leftover temporary file(s) from %s", removed, self._tmp)
        return removed

    def path_for(self, artifact_id: str) -> Path:
        """The file of an id; ValueError for anything that is not an id (no path tricks)."""
        if not is_artifact_id(artifact_id):
            raise ValueError(f"not an artifact id: {artifact_id[:80]!r}")
        return self.root / artifact_id[:2] / artifact_id[2:4] / artifact_id

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh path inside the store's volume, so the final rename never crosses devices."""
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix=self._prefix, suffix=suffix)
        os.close(fd)
        return Path(name)

    def get(self, artifact_id: str) -> ArtifactMeta | None:
        """Metadata of a stored artifact, or None when it is not (completely) stored."""
        try:
            sidecar = self.path_for(artifact_id).with_suffix(".json")
            return ArtifactMeta(**json.loads(sidecar.read_text()))
        except (ValueError, FileNotFoundError):
            return None

    async def put_file(
        self, src: Path, mime_type: str, info: MediaInfo | None = None
    ) -> ArtifactMeta:
        """Moves ``src`` into the store (hashing it off the event loop) and returns its metadata."""
        return await asyncio.to_thread(self._put_file, src, mime_type, info)

    async def put_bytes(
        self, data: bytes, mime_type: str, info: MediaInfo | None = None
    ) -> ArtifactMeta:
        tmp = self.temp_path()
        await asyncio.to_thread(tmp.write_bytes, data)
        return await self.put_file(tmp, mime_type, info)

    def _put_file(self, src: Path, mime_type: str, info: MediaInfo | None) -> ArtifactMeta:
        artifact_id = _sha256_of(src)
        media = info or Extent(size_bytes=0)
        meta = ArtifactMeta(
            id=artifact_id,
            mime_type=mime_type,
            size_bytes=src.stat().st_size,  # the file's own: ffprobe's may count a container less
            width=media.width,
            height=media.height,
            duration_seconds=media.duration_seconds,
        )
        target = self.path_for(artifact_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self._in_store(src):
            staged = self.temp_path()
            shutil.copyfile(src, staged)
            src = staged
        os.replace(src, target)
        # The sidecar is written last: its presence means the artifact is complete.
        sidecar_tmp = self.temp_path(".json")
        sidecar_tmp.write_text(json.dumps(asdict(meta)))
        os.replace(sidecar_tmp, target.with_suffix(".json"))
        return meta

    def _in_store(self, path: Path) -> bool:
        return path.resolve().parent == self._tmp.resolve()
