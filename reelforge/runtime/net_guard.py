"""SSRF guard: refuse URLs that reach loopback, private, link-local or metadata addresses.

Checked on the URL's literal host, again after DNS resolution (a public name can
resolve to a private address), on the address each socket actually connects to, and on
every redirect hop (see ``downloads``). The host is read the way the HTTP client reads it
(yarl: IDNA with UTS-46 mapping), so `１２７.０.０.１`, `127。0。0。1` or `①②⑦.0.0.1`
are the loopback address they become, not "names".
An allow-list of networks (settings) opens specific ranges, e.g. a local fake in tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints that are not covered by the private/link-local checks.
_METADATA = (ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200"))


class BlockedURL(ValueError):
    """The URL is not http(s), or it reaches an address that is not allowed."""


def parse_networks(values: Sequence[str]) -> list[IPNetwork]:
    """Allow-list entries such as "127.0.0.1/32" or "::1" into networks."""
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _is_public(ip.ipv4_mapped)
    if ip in _METADATA:
        return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, used by some clouds
    )


def check_ip(ip: IPAddress, allow: Sequence[IPNetwork]) -> None:
    """Raises BlockedURL for a non-public address outside the allow-list."""
    if _is_public(ip) or any(ip in net for net in allow if net.version == ip.version):
        return
    raise BlockedURL(f"address {ip} is not allowed (private, loopback, link-local or metadata)")


def split_url(url: str) -> tuple[str, int]:
    """Host (as the HTTP client will connect to it) and port of an http(s) URL.

    BlockedURL for any other shape. The host is yarl's ``raw_host``: the IDNA/UTS-46-normalised
    ASCII form aiohttp resolves or connects to, so the check and the connection see one host.
    """
    try:
        parts = URL(url)
        host, port = parts.raw_host, parts.port
    except (ValueError, UnicodeError):  # bad port, bad IDNA label, bad bracketed address
        raise BlockedURL("has an invalid host or port") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BlockedURL("must be an http(s) URL with a host")
    return host, port or (443 if parts.scheme == "https" else 80)


def check_url_literal(url: str, allow: Sequence[IPNetwork]) -> None:
    """Checks what can be checked without DNS: scheme, host, and an IP-literal host."""
    host, _ = split_url(url)
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id is not the address
    except ValueError:
        if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
            ".localhost"
        ):
            check_ip(ipaddress.ip_address("127.0.0.1"), allow)
        return
    check_ip(ip, allow)


async def resolve_checked(url: str, allow: Sequence[IPNetwork]) -> list[IPAddress]:
    """Resolves the URL's host and checks every address it resolves to."""
    host, port = split_url(url)
    check_url_literal(url, allow)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise BlockedURL(f"host {host!r} does not resolve: {error.strerror}") from None
    addresses = [address_of(info[4]) for info in infos]
    for ip in addresses:
        check_ip(ip, allow)
    return addresses


def address_of(sockaddr: tuple[Any, ...]) -> IPAddress:
    """The IP address of a socket address (an IPv6 one may carry a ``%zone``)."""
    return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
