"""Client channels to a service, as every caller opens them (the gateway, the studio).

DNS resolution gives every A record of a scaled-out service, and an ``ipv4:`` target lists
replicas by address; ``round_robin`` spreads calls over all of them. Reconnect back-off is capped
at 2 s (gRPC's default grows to 120 s): after a restart the caller would otherwise keep failing
for up to two minutes.
"""

from __future__ import annotations

import grpc

_OPTIONS = (
    ("grpc.lb_policy_name", "round_robin"),
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
)
# gRPC's own target schemes; e.g. `ipv4:127.0.0.1:50052,127.0.0.1:50062` names two replicas.
_TARGET_SCHEMES = ("dns:", "unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:")


def channel_target(address: str) -> str:
    """``host:port`` becomes a ``dns:///`` target (every replica); a target with a scheme is kept."""
    if "://" in address or address.startswith(_TARGET_SCHEMES):
        return address
    return f"dns:///{address}"


def open_channel(address: str) -> grpc.aio.Channel:
    """A round-robin channel to every replica ``address`` names (see the module docstring)."""
    return grpc.aio.insecure_channel(channel_target(address), options=_OPTIONS)
