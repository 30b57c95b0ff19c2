"""Ads in the database (SQLAlchemy Core; SQLite or PostgreSQL), table ``studio_ads`` (``schema.py``).

A row is the ``Ad`` message itself (``document``) plus the columns that select rows: state and
step (filters, leases), the CreateAd request id (idempotency) and the creation time (pages),
and ``call_sent_us``: when the running step sent a generator create whose answer (the job id)
is not in the document yet. Every document write clears it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reelforge.runtime import page_tokens
from reelforge.runtime.errors import NotFound
from reelforge.runtime.leases import LeasedTable
from reelforge.runtime.pg_notify import notify
from reelforge.runtime.schema import now_us, upgrade_schema
from reelforge.v1 import studio_pb2
from services.studio.schema import CHANGES_CHANNEL, LEASED, ads, metadata


class VersionConflict(Exception):
    """The row changed since it was read (or is no longer this owner's)."""


@dataclass(frozen=True)
class AdRow:
    id: str
    request_id: str | None
    state: str
    step: str
    document: bytes
    version: int
    created_us: int
    updated_us: int
    owner: str | None = None
    lease_expires_at: float = 0.0
    call_sent_us: int | None = None

    def ad(self) -> studio_pb2.Ad:
        """The Ad message with the row's id, version and timestamps."""
        ad = studio_pb2.Ad.FromString(self.document)
        ad.id = self.id
        ad.version = self.version
        ad.created_at.FromMicroseconds(self.created_us)
        ad.updated_at.FromMicroseconds(self.updated_us)
        return ad


def state_name(state: studio_pb2.AdState.ValueType) -> str:
    return studio_pb2.AdState.Name(state).removeprefix("AD_STATE_")


def step_name(step: studio_pb2.AdStep.ValueType) -> str:
    return studio_pb2.AdStep.Name(step).removeprefix("AD_STEP_")


def _columns(ad: studio_pb2.Ad) -> dict[str, Any]:
    return {
        "state": state_name(ad.state),
        "step": step_name(ad.step),
        "document": ad.SerializeToString(deterministic=True),
    }


class AdRepository:
    """Reads and writes ad rows; every write returns the row as it now is."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def leased(self) -> LeasedTable:
        """Which rows are work (RUNNING ads), for ``reelforge.runtime.leases``."""
        return LEASED

    @property
    def changes_channel(self) -> str:
        return CHANGES_CHANNEL

    async def create_schema(self) -> None:
        await upgrade_schema(self._engine, metadata)

    def write_transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return self._engine.begin()

    async def create(self, ad: studio_pb2.Ad, lease: Mapping[str, Any]) -> tuple[AdRow, bool]:
        """Inserts ``ad`` under a new id; returns (row, created). With a request id already
        used, returns the ad made for it and False."""
        if ad.request_id:
            existing = await self.find_request(ad.request_id)
            if existing is not None:
                return existing, False
        stamp = now_us()
        values = {
            "id": uuid.uuid4().hex,
            "request_id": ad.request_id or None,
            "version": 1,
            "created_us": stamp,
            "updated_us": stamp,
            **_columns(ad),
            **lease,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(ads.insert().values(**values))
                await notify(conn, CHANGES_CHANNEL, values["id"])
        except IntegrityError:
            # The same request id inserted concurrently (a replayed call racing the first).
            existing = await self.find_request(ad.request_id)
            if existing is None:
                raise
            return existing, False
        return await self.get(values["id"]), True

    async def find_request(self, request_id: str) -> AdRow | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(ads).where(ads.c.request_id == request_id))
            ).one_or_none()
        return None if row is None else AdRow(**row._mapping)

    async def get(self, ad_id: str) -> AdRow:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(ads).where(ads.c.id == ad_id))).one_or_none()
        if row is None:
            raise NotFound(f"ad {ad_id!r} not found")
        return AdRow(**row._mapping)

    async def replace(
        self,
        ad: studio_pb2.Ad,
        *,
        expected_version: int,
        owner: str | None = None,
        lease: Mapping[str, Any] | None = None,
    ) -> AdRow:
        """Writes ``ad`` over the row if it is still at ``expected_version`` (and, with
        ``owner``, still leased to it); else VersionConflict. ``lease`` sets the lease columns."""
        statement = (
            update(ads)
            .where(ads.c.id == ad.id, ads.c.version == expected_version)
            .values(
                **_columns(ad),
                **(lease or {}),
                updated_us=now_us(),
                version=ads.c.version + 1,
                call_sent_us=None,
            )
        )
        if owner is not None:
            statement = statement.where(ads.c.owner == owner)
        async with self._engine.begin() as conn:
            changed = (await conn.execute(statement)).rowcount == 1
            if changed:
                await notify(conn, CHANGES_CHANNEL, ad.id)
        if not changed:
            raise VersionConflict(ad.id)
        return await self.get(ad.id)

    async def mark_call(self, ad_id: str, owner: str) -> int | None:
        """Records that ``owner`` is sending a create for the ad's running step; returns when
        an earlier attempt sent it (its answer never saved), None for a first attempt. The
        earliest send is kept. VersionConflict when the ad is not ``owner``'s."""
        mine = and_(ads.c.id == ad_id, ads.c.owner == owner)
        async with self._engine.begin() as conn:
            earlier = (await conn.execute(select(ads.c.call_sent_us).where(mine))).one_or_none()
            if earlier is None:
                raise VersionConflict(ad_id)
            if earlier.call_sent_us is None:
                await conn.execute(update(ads).where(mine).values(call_sent_us=now_us()))
        sent: int | None = earlier.call_sent_us
        return sent

    async def list(
        self, page_size: int, page_token: str, state: str | None
    ) -> tuple[list[AdRow], str]:
        """Newest first, ``page_size`` at a time; keyset pages stay stable while ads are added."""
        query = select(ads).order_by(ads.c.created_us.desc(), ads.c.id.desc())
        if state:
            query = query.where(ads.c.state == state)
        start = page_tokens.after(page_token)
        if start is not None:
            query = query.where(page_tokens.past(ads.c.created_us, ads.c.id, start))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.limit(page_size + 1))).all()
        ads_rows = [AdRow(**r._mapping) for r in rows]
        return page_tokens.next_page(ads_rows, page_size, lambda row: (row.created_us, row.id))
