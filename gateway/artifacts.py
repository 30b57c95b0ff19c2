"""Artifact downloads: ETag (the sha256), If-None-Match, single byte ranges, attachments."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import BinaryIO, cast

from aiohttp import web

from gateway.errors import GatewayError
from gateway.keys import ARTIFACTS_KEY, UPSTREAMS_KEY
from gateway.request_ids import REQUEST_ID
from reelforge.runtime.artifacts import ArtifactMeta, is_artifact_id
from reelforge.v1 import composer_pb2

_LOGGER = logging.getLogger(__name__)
_SINGLE_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$", re.ASCII)
_CHUNK = 256 * 1024
_EXTENSIONS = {"video/mp4": ".mp4", "audio/mp4": ".m4a", "image/png": ".png", "image/jpeg": ".jpg"}
_GET_COMPOSITION = composer_pb2.DESCRIPTOR.services_by_name["ComposerService"].methods_by_name[
    "GetComposition"
]
# aiohttp's FileResponse is not used: its ETag is mtime-based, and an artifact's
# content address is the strongest validator there is.


async def _artifact(request: web.Request, artifact_id: str) -> tuple[ArtifactMeta, Path]:
    if not is_artifact_id(artifact_id):
        raise GatewayError.bad_request(
            "artifact ids are 64 lower-case hex characters", [("id", "not an artifact id")]
        )
    store = request.app[ARTIFACTS_KEY]
    meta = await asyncio.to_thread(store.get, artifact_id)  # reads the JSON sidecar
    path = store.path_for(artifact_id)
    if meta is None:
        raise GatewayError(404, f"artifact {artifact_id} not found")
    return meta, path


def _byte_range(request: web.Request, size: int, etag: str) -> tuple[int, int] | None:
    """(start, end exclusive) of a satisfiable single range; None to send everything."""
    if "Range" not in request.headers:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None  # the client's copy is another representation: send the whole file
    unsatisfiable = GatewayError(
        416, "range not satisfiable", headers={"Content-Range": f"bytes */{size}"}
    )
    # Parsed here rather than with aiohttp's http_range, which reads `bytes=-0` (the last zero
    # bytes: unsatisfiable) as `bytes=0-` and sends the whole file as a 206.
    match = _SINGLE_RANGE.match(request.headers["Range"].strip())
    if match is None:
        raise unsatisfiable  # several ranges, another unit, or not a range at all
    first, last = match.group(1), match.group(2)
    if not first:  # suffix range: the last N bytes
        if not last or int(last) == 0:
            raise unsatisfiable
        return max(0, size - int(last)), size
    start = int(first)
    stop = size if not last else min(int(last) + 1, size)
    if start >= size or start >= stop:
        raise unsatisfiable
    return start, stop


async def _send(
    request: web.Request, meta: ArtifactMeta, path: Path, disposition: str | None
) -> web.StreamResponse:
    etag = f'"{meta.id}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        # Content-addressed: the bytes behind an id can never change.
        "Cache-Control": "public, max-age=31536000, immutable",
        # Uploaded files are served from the web studio's origin: a browser must never run
        # one as a page (an SVG opened directly), nor guess another type than the stored one.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }
    if disposition:
        headers["Content-Disposition"] = disposition
    if _matches(request.headers.get("If-None-Match", ""), meta.id):
        return web.Response(status=304, headers=headers)
    size = (await asyncio.to_thread(path.stat)).st_size
    span = _byte_range(request, size, etag)
    start, stop = span or (0, size)
    response = web.StreamResponse(status=206 if span else 200, headers=headers)
    response.content_type = meta.mime_type
    response.content_length = stop - start
    if span:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    await response.prepare(request)
    if request.method != "HEAD":
        await _copy(path, start, stop, response)
    await response.write_eof()
    return response


def _matches(if_none_match: str, artifact_id: str) -> bool:
    tags = [tag.strip().removeprefix("W/").strip('"') for tag in if_none_match.split(",")]
    return "*" in tags or artifact_id in tags


async def _copy(path: Path, start: int, stop: int, response: web.StreamResponse) -> None:
    handle: BinaryIO = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(handle.seek, start)
        remaining = stop - start
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            await response.write(chunk)
    finally:
        await asyncio.to_thread(handle.close)


async def get_artifact(request: web.Request) -> web.StreamResponse:
    """GET /api/artifacts/{id}: inline, with the artifact's own mime type."""
    meta, path = await _artifact(request, request.match_info["id"])
    return await _send(request, meta, path, None)


async def download_composition(request: web.Request) -> web.StreamResponse:
    """GET /api/composition/download/{id}: the finished MP4 as an attachment."""
    composition_id = request.match_info["id"]
    upstreams = request.app[UPSTREAMS_KEY]
    composition = await upstreams.unary(
        _GET_COMPOSITION, composer_pb2.GetCompositionRequest(id=composition_id), request[REQUEST_ID]
    )
    composition = cast(composer_pb2.Composition, composition)
    if not composition.output.id:
        state = composer_pb2.CompositionState.Name(composition.state)
        raise GatewayError(412, f"composition {composition_id} has no output yet ({state})")
    meta, path = await _artifact(request, composition.output.id)
    filename = f"reelforge-{_safe_name(composition_id)}{_EXTENSIONS.get(meta.mime_type, '')}"
    return await _send(request, meta, path, f'attachment; filename="{filename}"')


def _safe_name(value: str) -> str:
    return "".join(c for c in value if c.isalnum() or c in "-_")[:64] or "composition"
