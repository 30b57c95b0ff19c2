"""The segment cache: encoded pieces of ads on disk, named by a digest of everything that shapes
their pixels, so a piece rendered once is never encoded again (``segments.py`` decides the keys).

A file is written under a temporary name and renamed into place, so a reader never sees half of
one and two renders (or replicas sharing the folder) racing on one key both end with a whole
file. Eviction removes the least recently used files once the folder is over its size, but never
one used within _IN_USE_S: a render joins its pieces a few seconds after looking them up.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.composer.settings import ComposerSettings

_IN_USE_S = 600.0
_SUFFIX = ".mp4"


def digest(value: Any) -> str:
    """A stable sha256 of a JSON-able value (keys sorted), the name of a cached piece."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes: inputs are named by content, whatever URL or id they had."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@dataclass
class SegmentCache:
    """A folder of cached pieces, kept under ``max_bytes``; ``encoded`` counts pieces this
    process wrote into it (what tests and the bench read to see what a render encoded)."""

    root: Path
    max_bytes: int = 2 << 30
    encoded: int = field(default=0, init=False)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{_SUFFIX}"

    def temp_path(self, key: str) -> Path:
        """A fresh file next to where ``key`` will live (same folder: the rename is atomic)."""
        folder = self.path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".part.", suffix=_SUFFIX)
        os.close(fd)
        return Path(name)

    def lookup(self, key: str) -> Path | None:
        """The cached file of ``key``, marked as just used; None when there is none."""
        path = self.path(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def put(self, key: str, written: Path, *, counted: bool = True) -> Path:
        """Moves a finished file into place under ``key`` and trims the cache; ``counted``
        adds it to ``encoded`` (a piece of an ad, not a helper file)."""
        path = self.path(key)
        written.replace(path)
        self.encoded += counted
        self.trim()
        return path

    def trim(self) -> None:
        """Least recently used first until under ``max_bytes``; recently used files stay (a
        temporary file counts as used while it is being written, and goes once stale)."""
        files = []
        for entry in self.root.glob(f"*/*{_SUFFIX}"):
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue  # another process evicted it meanwhile
            files.append((stat.st_mtime, stat.st_size, entry))
        total = sum(size for _mtime, size, _entry in files)
        cutoff = time.time() - _IN_USE_S
        for mtime, size, entry in sorted(files, key=lambda item: item[0]):
            if total <= self.max_bytes or mtime > cutoff:
                break
            entry.unlink(missing_ok=True)
            total -= size


def segment_cache(settings: ComposerSettings) -> SegmentCache | None:
    """The cache the settings ask for; None (every ad in one pass) when its size is 0."""
    if settings.segment_cache_mb <= 0:
        return None
    return SegmentCache(settings.segment_cache_path, settings.segment_cache_mb << 20)
