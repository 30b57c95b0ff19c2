"""Webhook delivery ids already handled: redeliveries and replays are recognised by them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from reelforge.runtime.database import chunks
from reelforge.runtime.schema import now_us
from services.generator.rows import to_us
from services.generator.transactions import WriteTransactions


@dataclass(frozen=True)
class _Delivery:
    webhook_id: str
    prediction_id: str
    received_us: int  # microseconds since the epoch, as every table stores an instant


class WebhookDeliveries:
    """The delivery ids of one table; on SQLite their inserts join the group commit."""

    def __init__(self, transactions: WriteTransactions, table: Table) -> None:
        self._transactions = transactions
        self._table = table

    async def remember(self, webhook_id: str, prediction_id: str) -> bool:
        """Records a delivery id; False when it had been seen (a redelivery or a replay)."""
        delivery = _Delivery(webhook_id, prediction_id, now_us())
        group = self._transactions.group
        if group is not None:
            return await group.submit(self._insert_new, delivery)
        try:
            async with self._transactions.begin() as conn:
                await conn.execute(insert(self._table).values(asdict(delivery)))
        except IntegrityError:
            return False
        return True

    async def forget_before(self, cutoff: float) -> None:
        """Forgets ids received before ``cutoff`` (unix s)."""
        async with self._transactions.begin() as conn:
            stale = self._table.c.received_us < to_us(cutoff)
            await conn.execute(delete(self._table).where(stale))

    async def _insert_new(self, conn: AsyncConnection, deliveries: list[_Delivery]) -> list[bool]:
        """SQLite, a batch at once: True for each id not seen before (in the table or the batch)."""
        hooks = self._table
        seen: set[str] = set()
        for chunk in chunks(sorted({d.webhook_id for d in deliveries})):
            query = select(hooks.c.webhook_id).where(hooks.c.webhook_id.in_(chunk))
            seen.update((await conn.execute(query)).scalars())
        results: list[bool] = []
        rows = []
        for delivery in deliveries:
            results.append(delivery.webhook_id not in seen)
            if results[-1]:
                seen.add(delivery.webhook_id)  # a second copy in the same batch is a duplicate
                rows.append(asdict(delivery))
        if rows:
            await conn.execute(sqlite_insert(hooks).on_conflict_do_nothing(), rows)
        return results
