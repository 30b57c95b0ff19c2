"""The web studio's files: `/` is its page, `/web/{path}` its modules and styles (README.md)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent
PAGE_PREFIX = "/web/"
_SERVED_SUFFIXES = frozenset({".html", ".css", ".js", ".svg"})
# The page loads only its own files and talks only to its own origin; artifacts may be blob:
# URLs (fetched with the API key) or gateway paths.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # revalidated each load, so a new gateway serves new modules
    "Referrer-Policy": "no-referrer",
}


def _served_files() -> dict[str, Path]:
    """Every file the page may load, by its path under /web/, fixed at start-up: a request
    names a key of this table, never a path on disk."""
    return {
        path.relative_to(WEB_DIR).as_posix(): path
        for path in sorted(WEB_DIR.rglob("*"))
        if path.is_file() and path.suffix in _SERVED_SUFFIXES
    }


def _file_response(path: Path) -> web.Response:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        content_type = "text/javascript"  # ES modules need a JavaScript type
    return web.Response(
        body=path.read_bytes(), content_type=content_type, charset="utf-8", headers=_HEADERS
    )


def add_studio_routes(router: web.UrlDispatcher) -> None:
    """`GET /` (the page) and `GET /web/{path}`; unknown files are the gateway's JSON 404."""
    files = _served_files()

    def serve(name: str) -> web.Response:
        path = files.get(name)
        if path is None:  # also a page whose files were not installed with the package
            raise web.HTTPNotFound()
        return _file_response(path)

    async def page(request: web.Request) -> web.Response:
        return serve("index.html")

    async def asset(request: web.Request) -> web.Response:
        return serve(request.match_info["path"])

    router.add_get("/", page)
    router.add_get(PAGE_PREFIX + "{path:.+}", asset)
