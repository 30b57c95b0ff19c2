"""Artifact uploads: `POST /api/artifacts` stores a logo, product image or font for a brand kit.

The body is the file itself (``Content-Type`` says what it is; curl ``--data-binary @logo.png``,
a browser ``fetch(url, {body: file})``). The type is read from the bytes, not believed from the
header: a declared type that the bytes contradict is refused (415), and each kind is checked
as far as it could harm what reads it later — images decode within a pixel budget, SVG carries
no script, external reference or entity, fonts have a sane table directory. The file is
content-addressed like every artifact: uploading the same bytes twice gives the same id.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from gateway.errors import GatewayError
from gateway.keys import ARTIFACTS_KEY, SETTINGS_KEY
from gateway.transcoding import to_json
from reelforge.runtime.media import MediaInfo

_CHUNK = 64 * 1024
# Larger than any logo or product shot needs; a decoded 8192² RGBA image is 256 MB.
_MAX_SIDE_PX = 8192
_MAX_PIXELS = 40_000_000
_RASTER = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
ALLOWED_TYPES = (*_RASTER.values(), "image/svg+xml", "font/ttf", "font/otf")
# Declared types that say nothing: the bytes decide.
_UNDECLARED = {"", "application/octet-stream"}
_SVG_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "embed", "object"}
_EXTERNAL = re.compile(r"^\s*(javascript:|data:text/html|https?:|//|file:)", re.IGNORECASE)


@dataclass(frozen=True)
class _Checked:
    mime_type: str
    width: int = 0
    height: int = 0


async def upload_artifact(request: web.Request) -> web.Response:
    """POST /api/artifacts → 201 with the stored Artifact (JSON) and its Location."""
    limit = request.app[SETTINGS_KEY].upload_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise GatewayError(413, f"uploads are limited to {limit} bytes")
    store = request.app[ARTIFACTS_KEY]
    temp = store.temp_path()
    try:
        size = await _receive(request, temp, limit)
        if size == 0:
            raise GatewayError.bad_request("the body is empty", [("body", "an empty file")])
        checked = await asyncio.to_thread(_check, temp, request.content_type)
        info = MediaInfo(
            format_name="", size_bytes=size, width=checked.width, height=checked.height
        )
        meta = await store.put_file(temp, checked.mime_type, info)
    finally:
        temp.unlink(missing_ok=True)  # moved into the store on success; removed otherwise
    artifact = meta.to_proto()
    body = to_json(artifact)
    return web.json_response(body, status=201, headers={"Location": artifact.uri})


async def _receive(request: web.Request, temp: Path, limit: int) -> int:
    """Streams the body to ``temp`` (not through the JSON body limit); 413 past ``limit``."""
    size = 0
    handle = await asyncio.to_thread(temp.open, "wb")
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise GatewayError(413, f"uploads are limited to {limit} bytes")
            await asyncio.to_thread(handle.write, chunk)
    finally:
        await asyncio.to_thread(handle.close)
    return size


def _check(path: Path, declared: str) -> _Checked:
    head = path.open("rb").read(512)
    sniffed = _sniff(head)
    if sniffed is None:
        raise GatewayError(415, f"not an accepted file type; accepted: {', '.join(ALLOWED_TYPES)}")
    if declared not in _UNDECLARED and declared != sniffed:
        raise GatewayError(415, f"the body is {sniffed}, not {declared}")
    if sniffed in _RASTER.values():
        return _check_raster(path)
    if sniffed == "image/svg+xml":
        return _check_svg(path)
    _check_font(head)
    return _Checked(sniffed)


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"\x00\x01\x00\x00", b"true"):
        return "font/ttf"
    if head[:4] == b"OTTO":
        return "font/otf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in head.lower():
        return "image/svg+xml"
    return None


def _check_raster(path: Path) -> _Checked:
    try:
        with Image.open(path) as image:
            width, height = image.size
            if max(width, height) > _MAX_SIDE_PX or width * height > _MAX_PIXELS:
                raise GatewayError.bad_request(
                    f"images are limited to {_MAX_SIDE_PX} px a side and {_MAX_PIXELS} pixels",
                    [("body", f"{width}×{height} pixels")],
                )
            image.verify()  # reads every chunk: a truncated or corrupt file fails here
            kind = _RASTER.get(image.format or "")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise GatewayError.bad_request(
            "the image could not be decoded", [("body", type(error).__name__)]
        ) from error
    if kind is None:
        raise GatewayError(415, "not an accepted image type")
    return _Checked(kind, width, height)


def _check_svg(path: Path) -> _Checked:
    text = path.read_text(encoding="utf-8", errors="strict")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        # Entities are how XML bombs and external-entity reads work; an SVG logo needs none.
        raise GatewayError.bad_request(
            "SVG must not declare a DOCTYPE or entities", [("body", "DOCTYPE")]
        )
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise GatewayError.bad_request(
            "the SVG is not well-formed XML", [("body", str(error))]
        ) from error
    if _local(root.tag) != "svg":
        raise GatewayError(415, "the XML document is not an SVG image")
    for element in root.iter():
        if _local(element.tag).lower() in _SVG_FORBIDDEN_TAGS:
            raise GatewayError.bad_request(
                "SVG must not contain scripts or embedded documents",
                [("body", _local(element.tag))],
            )
        for name, value in element.attrib.items():
            if _local(name).lower().startswith("on") or (
                _local(name) == "href" and _EXTERNAL.match(value)
            ):
                raise GatewayError.bad_request(
                    "SVG must not carry event handlers or external references",
                    [("body", f"{_local(element.tag)} {_local(name)}")],
                )
    return _Checked("image/svg+xml", *_svg_size(root))


def _local(name: str) -> str:
    """``{http://www.w3.org/2000/svg}svg`` → ``svg``."""
    return name.rsplit("}", 1)[-1]


def _svg_size(root: ElementTree.Element) -> tuple[int, int]:
    box = root.attrib.get("viewBox", "").replace(",", " ").split()
    try:
        if len(box) == 4:
            return round(float(box[2])), round(float(box[3]))
        return round(float(root.attrib["width"])), round(float(root.attrib["height"]))
    except (KeyError, ValueError):
        return 0, 0


def _check_font(head: bytes) -> None:
    """The table directory's count must be plausible (a real font has ~10–30 tables)."""
    tables = int.from_bytes(head[4:6], "big") if len(head) >= 6 else 0
    if not 1 <= tables <= 64:
        raise GatewayError.bad_request(
            "the font's table directory is not valid", [("body", f"{tables} tables")]
        )
