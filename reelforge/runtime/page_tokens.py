"""Opaque list page tokens: base64url of a JSON pair ``[position, id]``, strictly decoded.

A token comes back from the client, so it is hostile input: decoding is bounded (length,
nesting, number range, id length) and every failure is one INVALID_ARGUMENT naming
``page_token``, never a RecursionError, an OverflowError or a database integer overflow.
"""

from __future__ import annotations

import base64
import binascii
import json
import math

from reelforge.runtime.errors import InvalidArgument

MAX_TOKEN_CHARS = 512
MAX_ID_CHARS = 128
# Exact as a float and as a 64-bit integer, so either column type takes it (SQLite, PostgreSQL).
MAX_POSITION = 2**53
FIELD = "page_token"


def encode(position: float, row_id: str) -> str:
    """The token of the row a page ended on (its sort position and id)."""
    return base64.urlsafe_b64encode(json.dumps([position, row_id]).encode()).decode()


def parse(token: str) -> tuple[float, str] | None:
    """(position, id) of a token from :func:`encode`, or None for anything else."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        return None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    position, row_id = value
    if isinstance(position, bool) or not isinstance(position, int | float):
        return None
    if not (math.isfinite(position) and abs(position) <= MAX_POSITION):
        return None
    if not isinstance(row_id, str) or len(row_id) > MAX_ID_CHARS:
        return None
    return float(position), row_id


def decode(token: str, description: str) -> tuple[float, str]:
    """:func:`parse`, raising InvalidArgument naming ``page_token`` (with ``description``)."""
    parsed = parse(token)
    if parsed is None:
        raise InvalidArgument.single(FIELD, description)
    return parsed
