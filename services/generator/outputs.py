"""Copies provider outputs (URLs, FileOutput, data: URIs, local files) into the artifact store."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import aiohttp

from reelforge.runtime.artifacts import ArtifactMeta, ArtifactStore
from reelforge.runtime.downloads import DownloadError, download, guarded_session
from reelforge.runtime.media import MediaError, MediaInfo, probe
from reelforge.runtime.net_guard import IPNetwork
from reelforge.runtime.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)

# ffprobe's format names → the MIME type an artifact is served with.
_IMAGE_FORMATS = {"png_pipe": "image/png", "jpeg_pipe": "image/jpeg", "webp_pipe": "image/webp"}


class OutputError(Exception):
    """An output that could not be fetched or is not readable media."""


def flatten_outputs(output: Any) -> list[Any]:
    """A prediction's output as a flat list (one URL, a list of URLs, or a dict of them)."""
    if output is None:
        return []
    if isinstance(output, list | tuple):
        return [leaf for item in output for leaf in flatten_outputs(item)]
    if isinstance(output, dict):
        return [leaf for item in output.values() for leaf in flatten_outputs(item)]
    return [output]


def mime_for(info: MediaInfo) -> str:
    if info.format_name in _IMAGE_FORMATS:
        return _IMAGE_FORMATS[info.format_name]
    if info.format_name.startswith("image2") or info.video_codec in ("png", "mjpeg", "webp"):
        return {"png": "image/png", "webp": "image/webp"}.get(info.video_codec, "image/jpeg")
    if "mp4" in info.format_name or "mov" in info.format_name:
        return "video/mp4" if info.has_video else "audio/mp4"
    if info.format_name == "mp3":
        return "audio/mpeg"
    if info.format_name == "wav":
        return "audio/wav"
    return "video/webm" if info.has_video else "application/octet-stream"


def _decode_data_uri(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as error:
        raise OutputError(f"bad data: URI ({error})") from None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class OutputFetcher:
    """Fetches through the SSRF-guarded session; probes media; stores by sha256."""

    def __init__(self, store: ArtifactStore, allow: Iterable[IPNetwork], max_bytes: int) -> None:
        self._store = store
        self._allow = list(allow)
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None
        self._storing: dict[str, asyncio.Task[ArtifactMeta]] = {}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = guarded_session(self._allow, timeout_s=300.0)
        return self._session

    async def aclose(self) -> None:
        """Ends the stores still running (their callers are stopping too), then the session."""
        await cancel_and_wait(list(self._storing.values()))
        if self._session is not None:
            await self._session.close()

    async def download_to(self, url: str, dest: Path) -> None:
        """One URL into ``dest`` (guarded, size-limited, retried)."""
        try:
            await download(self._http(), url, dest, max_bytes=self._max_bytes, allow=self._allow)
        except DownloadError as error:
            raise OutputError(str(error)) from None

    async def ingest(self, output: Any) -> list[ArtifactMeta]:
        """Every file in a prediction's output, stored; OutputError if one cannot be."""
        return [await self._ingest_one(item) for item in flatten_outputs(output)]

    async def store_file(self, path: Path) -> ArtifactMeta:
        """A local file as an artifact; identical bytes are probed and stored once."""
        digest = await asyncio.to_thread(_sha256_of, path)
        pending = self._storing.get(digest)
        known = self._store.get(digest)
        if known is not None or pending is not None:
            # Same bytes already stored (or being stored): skip ffprobe, a big saving on repeats.
            if self._in_tmp(path):
                await asyncio.to_thread(path.unlink, missing_ok=True)
            if known is not None:
                return known
            assert pending is not None
            return await asyncio.shield(pending)
        # Shielded: callers share one store, and one caller's cancellation (its item stopping)
        # must not end it for the others. So the task may end with nobody awaiting it; _done
        # takes its outcome, or asyncio reports "Task exception was never retrieved".
        task = asyncio.create_task(self._probe_and_put(path))
        self._storing[digest] = task
        task.add_done_callback(lambda done: self._done(digest, done))
        return await asyncio.shield(task)

    def _done(self, digest: str, task: asyncio.Task[ArtifactMeta]) -> None:
        self._storing.pop(digest, None)
        if not task.cancelled() and task.exception() is not None:
            # Each waiter gets the exception from the task itself; this only marks it retrieved.
            _LOGGER.debug("storing %s failed: %s", digest, task.exception())

    async def _probe_and_put(self, path: Path) -> ArtifactMeta:
        try:
            info = await probe(path)
        except MediaError as error:
            raise OutputError(f"output is not readable media: {error}") from None
        if mime_for(info).startswith("image/"):
            info = MediaInfo(
                format_name=info.format_name,
                size_bytes=info.size_bytes,
                width=info.width,
                height=info.height,
            )
        return await self._store.put_file(path, mime_for(info), info)

    async def _ingest_one(self, item: Any) -> ArtifactMeta:
        url = str(getattr(item, "url", item))  # replicate.helpers.FileOutput carries .url
        tmp = self._store.temp_path()
        try:
            if url.startswith("data:"):
                await asyncio.to_thread(tmp.write_bytes, _decode_data_uri(url))
            elif url.startswith(("http://", "https://")):
                await self.download_to(url, tmp)
            else:
                raise OutputError(f"unsupported output {url[:60]!r}")
            return await self.store_file(tmp)
        finally:
            tmp.unlink(missing_ok=True)

    def _in_tmp(self, path: Path) -> bool:
        return path.resolve().parent == (self._store.root / ".tmp").resolve()
