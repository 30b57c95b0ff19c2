"""SSRF guard: refuse URLs that reach loopback, private, link-local or metadata addresses.

Checked on the URL's literal host, again after DNS resolution (a public name can
resolve to a private address) and on every redirect hop (see ``downloads``).
An allow-list of networks (settings) opens specific ranges, e.g. a local fake in tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

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
    """Host and port of an http(s) URL; BlockedURL for any other shape."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL("must be an http(s) URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BlockedURL("has an invalid port") from None
    return parts.hostname, port


def check_url_literal(url: str, allow: Sequence[IPNetwork]) -> None:
    """Checks what can be checked without DNS: scheme, host, and an IP-literal host."""
    host, _ = split_url(url)
    try:
        ip = ipaddress.ip_address(host)
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
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for ip in addresses:
        check_ip(ip, allow)
    return addresses
