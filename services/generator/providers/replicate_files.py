"""Stored files as Replicate inputs: small ones inline as ``data:`` URIs, larger ones uploaded
through Replicate's files API (``POST /v1/files``) and sent as the file's URL.

Replicate accepts a ``data:`` URI only up to 256 KB, so a file is inlined only when its whole
URI fits in 256 KiB (a file of up to ~192 KiB); a product photo is usually larger. An upload
is reused for the same artifact (content-addressed: same id, same bytes) while it has at least
an hour to live — a prediction may sit queued before it reads its inputs — and one artifact is
uploaded once at a time however many items want it.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reelforge.runtime.artifacts import ArtifactStore, is_artifact_id
from reelforge.runtime.svg import SVG_MIME, SvgError, is_svg, rasterise_svg
from services.generator.keyed_locks import KeyedLocks
from services.generator.providers.base import ProviderError

DATA_URI_MAX_BYTES = 256 * 1024
_REUSE_MARGIN_S = 3600.0
# An SVG is sent as a PNG this wide: models take images of about a megapixel.
SVG_SEND_WIDTH = 1024


@dataclass(frozen=True)
class Uploaded:
    url: str  # what the model input carries (Replicate's ``urls.get``)
    expires_at: float | None  # unix seconds; None: does not expire


Upload = Callable[[Path, str, str], Awaitable[Uploaded]]  # (path, mime type, artifact id)


def expiry(value: str | None) -> float | None:
    """Replicate's ``expires_at`` (ISO 8601) as unix seconds."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def data_uri_size(size: int, mime: str) -> int:
    return len(f"data:{mime};base64,") + 4 * ((size + 2) // 3)


class FileInputs:
    """Turns artifact ids in a model input into what Replicate can read."""

    def __init__(self, store: ArtifactStore, upload: Upload) -> None:
        self._store = store
        self._upload = upload
        self._uploads: dict[str, Uploaded] = {}
        self._locks = KeyedLocks()
        self.uploads = 0  # files sent through the files API by this process

    async def resolve(self, value: str) -> str:
        """A data: URI or an uploaded file's URL for an artifact id; anything else unchanged.

        No hosted model takes SVG, so an SVG is sent as a PNG rasterised ``SVG_SEND_WIDTH``
        px wide (transparency kept; see reelforge/runtime/svg.py)."""
        if not is_artifact_id(value):
            return value
        meta = self._store.get(value)
        mime = meta.mime_type if meta else "image/png"
        path = self._store.path_for(value)
        if mime != SVG_MIME and not (meta is None and await asyncio.to_thread(is_svg, path)):
            return await self._send(value, path, mime)
        with tempfile.TemporaryDirectory(prefix="svg-input-") as scratch:
            png = Path(scratch) / "input.png"
            try:
                await asyncio.to_thread(rasterise_svg, path, SVG_SEND_WIDTH, png)
            except SvgError as error:
                raise ProviderError(f"artifact {value}: {error}", retryable=False) from None
            return await self._send(value, png, "image/png")

    async def _send(self, value: str, path: Path, mime: str) -> str:
        size = (await asyncio.to_thread(path.stat)).st_size
        if data_uri_size(size, mime) <= DATA_URI_MAX_BYTES:
            data = await asyncio.to_thread(path.read_bytes)
            return f"data:{mime};base64,{base64.b64encode(data).decode()}"
        async with self._locks.hold(value):
            known = self._uploads.get(value)
            if known is None or not _fresh(known):
                known = self._uploads[value] = await self._upload(path, mime, value)
                self.uploads += 1
            return known.url


def _fresh(uploaded: Uploaded) -> bool:
    return uploaded.expires_at is None or uploaded.expires_at - time.time() > _REUSE_MARGIN_S
