"""Downloads over http(s) with a size limit, retries with back-off, and the SSRF guard on every hop."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from reelforge.runtime.errors import redact_paths
from reelforge.runtime.net_guard import (
    BlockedURL,
    IPNetwork,
    address_of,
    check_ip,
    check_url_literal,
)

_LOGGER = logging.getLogger(__name__)
_MAX_REDIRECTS = 5
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DownloadError(Exception):
    """The file could not be fetched (after retries), was too large, or its URL was refused."""


class GuardedResolver(AbstractResolver):
    """Resolves through the default resolver, then refuses disallowed addresses.

    Checking inside the connector means the address actually connected to is the
    one checked, which defeats DNS rebinding between a check and the connect.
    """

    def __init__(self, allow: Sequence[IPNetwork]) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow = list(allow)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            check_ip(address_of((result["host"],)), self._allow)
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(allow: Sequence[IPNetwork]) -> Callable[[AddrInfoType], socket.socket]:
    """Creates each socket only for an allowed address: the last check, on what is connected to.

    aiohttp skips the resolver for hosts that are IP literals (including ones it normalised from
    Unicode digits), so the resolver alone cannot see every address.
    """
    allowed = list(allow)

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        check_ip(address_of(sockaddr), allowed)
        return socket.socket(family=family, type=type_, proto=proto)

    return create


def guarded_session(allow: Sequence[IPNetwork], timeout_s: float = 60.0) -> aiohttp.ClientSession:
    """A client session whose every connection passes the SSRF guard."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow),
        socket_factory=guarded_socket_factory(allow),
        # One address at a time: with happy eyeballs a refusal raised while creating a socket
        # would be swallowed as a failed attempt instead of reaching the caller as BlockedURL.
        happy_eyeballs_delay=None,
        limit=32,
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s, sock_connect=10)
    )


async def _fetch_once(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    max_bytes: int,
    allow: Sequence[IPNetwork],
    headers: dict[str, str] | None,
) -> str:
    """One attempt, following redirects by hand so each hop is checked. Returns the content type."""
    for _ in range(_MAX_REDIRECTS + 1):
        check_url_literal(url, allow)
        async with session.get(url, allow_redirects=False, headers=headers) as response:
            if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                url = urljoin(url, response.headers["Location"])
                continue
            response.raise_for_status()
            if (response.content_length or 0) > max_bytes:
                raise DownloadError(
                    f"file is {response.content_length} bytes, over the {max_bytes}-byte limit"
                )
            await _stream_to(response, dest, max_bytes)
            return response.headers.get("Content-Type", "application/octet-stream")
    raise DownloadError(f"more than {_MAX_REDIRECTS} redirects")


async def _stream_to(response: aiohttp.ClientResponse, dest: Path, max_bytes: int) -> None:
    written = 0
    with dest.open("wb") as handle:
        async for chunk in response.content.iter_chunked(1 << 16):
            written += len(chunk)
            if written > max_bytes:
                raise DownloadError(f"file exceeds the {max_bytes}-byte limit")
            handle.write(chunk)


def _retryable(error: BaseException) -> bool:
    if isinstance(error, aiohttp.ClientResponseError):
        return error.status in _RETRYABLE_STATUS
    return isinstance(error, aiohttp.ClientError | asyncio.TimeoutError)


async def download(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    allow: Sequence[IPNetwork] = (),
    attempts: int = 3,
    backoff_s: float = 0.5,
    headers: dict[str, str] | None = None,
) -> str:
    """Downloads ``url`` into ``dest``; returns its Content-Type. DownloadError on failure."""
    last: BaseException | None = None
    for attempt in range(attempts):
        try:
            return await _fetch_once(session, url, dest, max_bytes, allow, headers)
        except BlockedURL as error:
            raise DownloadError(f"URL refused: {error}") from None
        except DownloadError:
            raise
        except Exception as error:
            last = error
            if not _retryable(error) or attempt == attempts - 1:
                break
            delay = backoff_s * 2**attempt * (0.5 + random.random())
            _LOGGER.warning("download failed (%s), retrying in %.2f s", _describe(error), delay)
            await asyncio.sleep(delay)
    raise DownloadError(f"download failed: {_describe(last)}")


def _describe(error: Any) -> str:
    if isinstance(error, aiohttp.ClientResponseError):
        return f"HTTP {error.status}"
    return type(error).__name__ + (f": {redact_paths(str(error))}" if str(error) else "")
