"""List pages, newest first: opaque page tokens and the keyset query behind them.

A token is base64url of a JSON pair ``[position, id]``: the sort position (creation time) and
id of the row a page ended on. Every list works the same way, in two layers: the servicer
turns a validated ``page_token`` into a :data:`Position` (:func:`after`) and a fetched page
into the next token (:func:`next_page`); the repository fetches ``limit`` rows past the
position (:func:`past`). Keyset pages stay stable while rows are added.

A token comes back from the client, so it is hostile input: decoding is bounded (length,
nesting, number range, id length) and every failure is one INVALID_ARGUMENT naming
``page_token``, never a RecursionError, an OverflowError or a database integer overflow.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from reelforge.runtime.errors import InvalidArgument

_Row = TypeVar("_Row")
Position = tuple[float, str]  # (sort position, row id) of the last row of a page

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


def after(token: str) -> Position | None:
    """Where the page asked for starts: None for the first page (no token). Validation at the
    door names the list in its answer; this check only keeps a bad token from the query."""
    return decode(token, "not a token from a previous answer of this list") if token else None


def past(
    position: ColumnElement[Any], row_id: ColumnElement[Any], start: Position
) -> ColumnElement[bool]:
    """The rows after ``start`` in newest-first order (``position`` desc, then ``row_id`` desc)."""
    # In the column's own type: an integer column (microseconds) must not be bound a float.
    at = position.type.python_type(start[0])
    return or_(position < at, and_(position == at, row_id < start[1]))


def next_page(
    rows: Sequence[_Row], size: int, position: Callable[[_Row], Position]
) -> tuple[list[_Row], str]:
    """The first ``size`` of ``rows`` (fetched with a limit of ``size + 1``) and the token of
    the next page, empty when there is none."""
    page = list(rows[:size])
    more = len(rows) > size
    return page, encode(*position(page[-1])) if more else ""
