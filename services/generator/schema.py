"""The generator's tables (SQLAlchemy Core), named with a configurable prefix such as "generator_".

They follow the storage conventions of every service (docs/ARCHITECTURE.md): instants as integer
microseconds (``*_us``), states by name. Tables made by a version that stored instants as float
seconds (``*_at``) and states as enum numbers are upgraded in place at start-up
(:func:`migrate_to_micros_and_names`, in the schema transaction, before new columns are added).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from reelforge.runtime.leases import lease_columns
from reelforge.v1 import generator_pb2 as pb


@dataclass(frozen=True)
class Tables:
    metadata: MetaData
    jobs: Table
    items: Table
    webhooks: Table


def build_tables(prefix: str) -> Tables:
    metadata = MetaData()
    jobs = Table(
        f"{prefix}jobs",
        metadata,
        *_work_columns(),
        Column("tier", Integer, nullable=False),
        Column("aspect_ratio", Integer, nullable=False),
        Column("canceled", Boolean, nullable=False, default=False),
        *_timestamps(),
        Index(f"{prefix}jobs_listing", "created_us", "id"),
    )
    items = Table(
        f"{prefix}items",
        metadata,
        *_work_columns(),
        Column("job_id", String(40), ForeignKey(f"{prefix}jobs.id"), nullable=False),
        Column("idx", Integer, nullable=False),
        Column("spec", Text, nullable=False),
        Column("input", Text, nullable=False),
        Column("cache_key", String(64), nullable=False),
        Column("prediction_id", String(200), nullable=True, unique=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("outputs", Text, nullable=False, default="[]"),
        # Voice items' word timings (JSON); the server default lets an older table gain it.
        Column("words", Text, nullable=False, default="[]", server_default="[]"),
        Column("error", Text, nullable=False, default=""),
        Column("actual_cost_micros", BigInteger, nullable=False, default=0),
        Column("cached", Boolean, nullable=False, default=False),
        # The latest create attempt (bounds reconciliation) and its deadline; 0 until the first.
        Column("submit_started_us", BigInteger, nullable=False, default=0),
        Column("deadline_us", BigInteger, nullable=False, default=0),
        *_timestamps(),
        # Which replica runs the item, until when (reelforge.runtime.leases).
        *lease_columns(),
        Index(f"{prefix}items_job", "job_id", "idx"),
        Index(f"{prefix}items_state", "state"),
        Index(f"{prefix}items_cache", "cache_key", "state"),
    )
    webhooks = Table(
        f"{prefix}webhook_deliveries",
        metadata,
        Column("webhook_id", String(200), primary_key=True),
        Column("prediction_id", String(200), nullable=False),
        Column("received_us", BigInteger, nullable=False),
    )
    return Tables(metadata, jobs, items, webhooks)


def _work_columns() -> list[Column[Any]]:
    """What jobs and items both record (an item repeats its job's kind, provider and model)."""
    return [
        Column("id", String(40), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("state", String(16), nullable=False),  # JobState / ItemState name, no prefix
        Column("provider", String(32), nullable=False),
        Column("model", String(200), nullable=False),
        Column("estimated_cost_micros", BigInteger, nullable=False),
    ]


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_us", BigInteger, nullable=False),
        Column("updated_us", BigInteger, nullable=False),
    ]


# What older versions stored, per table: float-seconds columns → their microsecond columns, and
# the enum whose numbers the ``state`` column held.
_OLD_INSTANTS = {
    "jobs": {"created_at": "created_us", "updated_at": "updated_us"},
    "items": {
        "created_at": "created_us",
        "updated_at": "updated_us",
        "submit_started_at": "submit_started_us",
        "deadline_at": "deadline_us",
    },
    "webhooks": {"received_at": "received_us"},
}
_OLD_STATES: dict[str, dict[int, str]] = {
    "jobs": {number: name.removeprefix("JOB_STATE_") for name, number in pb.JobState.items()},
    "items": {number: name.removeprefix("ITEM_STATE_") for name, number in pb.ItemState.items()},
}


async def migrate_to_micros_and_names(conn: AsyncConnection, tables: Tables) -> None:
    """Upgrades tables an older version made (float seconds, state numbers) in place.

    Per table: indexes on the old columns are dropped (the schema upgrade makes them again on
    the new ones); each ``<event>_at`` gains its ``<event>_us`` twin, filled by rounding, then
    goes; a numeric ``state`` becomes the enum value's name. Each step checks what it finds,
    so a run stopped part-way (a database that commits DDL at once) continues where it
    stopped. Tables that do not exist yet, or are new already, are left alone.
    """
    for key, table in (
        ("jobs", tables.jobs),
        ("items", tables.items),
        ("webhooks", tables.webhooks),
    ):
        columns = await _column_types(conn, table.name)
        instants = {old: new for old, new in _OLD_INSTANTS[key].items() if old in columns}
        numeric_state = key in _OLD_STATES and isinstance(columns.get("state"), Integer)
        quoted = conn.dialect.identifier_preparer.quote
        if "state_name" in columns and "state" not in columns:  # stopped before the rename
            await _rename_state_name(conn, quoted(table.name))
        if not instants and not numeric_state:
            continue
        old_columns = {*instants, *(["state"] if numeric_state else [])}
        await _drop_indexes_on(conn, table.name, old_columns)
        name = quoted(table.name)
        for old, new in instants.items():
            if new not in columns:
                await conn.execute(
                    text(f"ALTER TABLE {name} ADD COLUMN {new} BIGINT NOT NULL DEFAULT 0")
                )
            await conn.execute(
                text(f"UPDATE {name} SET {new} = CAST(ROUND({old} * 1000000) AS BIGINT)")
            )
            await conn.execute(text(f"ALTER TABLE {name} DROP COLUMN {old}"))
        if numeric_state:
            await _states_by_name(conn, name, _OLD_STATES[key], "state_name" in columns)


async def _states_by_name(
    conn: AsyncConnection, table: str, names: dict[int, str], added: bool
) -> None:
    if not added:
        await conn.execute(
            text(f"ALTER TABLE {table} ADD COLUMN state_name VARCHAR(16) NOT NULL DEFAULT ''")
        )
    # The names come from the contract, not from the rows: safe to write into the statement.
    cases = " ".join(f"WHEN {number} THEN '{name}'" for number, name in names.items())
    await conn.execute(text(f"UPDATE {table} SET state_name = CASE state {cases} END"))
    await conn.execute(text(f"ALTER TABLE {table} DROP COLUMN state"))
    await _rename_state_name(conn, table)


async def _rename_state_name(conn: AsyncConnection, table: str) -> None:
    await conn.execute(text(f"ALTER TABLE {table} RENAME COLUMN state_name TO state"))


async def _column_types(conn: AsyncConnection, table: str) -> dict[str, Any]:
    """The table's columns and their types as the database reports them; {} when it is absent."""

    def read(sync: Any) -> dict[str, Any]:
        inspector = inspect(sync)
        if not inspector.has_table(table):
            return {}
        return {column["name"]: column["type"] for column in inspector.get_columns(table)}

    return await conn.run_sync(read)


async def _drop_indexes_on(conn: AsyncConnection, table: str, columns: set[str]) -> None:
    indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes(table))
    for index in indexes:
        if columns & set(index["column_names"]) and index["name"]:
            name = conn.dialect.identifier_preparer.quote(index["name"])
            await conn.execute(text(f"DROP INDEX {name}"))
