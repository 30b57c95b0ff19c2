"""The generator's tables (SQLAlchemy Core), named with a configurable prefix such as "generator_"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from reelforge.runtime.leases import lease_columns


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
        Index(f"{prefix}jobs_listing", "created_at", "id"),
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
        Column("submit_started_at", Float, nullable=False, default=0.0),
        Column("deadline_at", Float, nullable=False, default=0.0),
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
        Column("received_at", Float, nullable=False),
    )
    return Tables(metadata, jobs, items, webhooks)


def _work_columns() -> list[Column[Any]]:
    """What jobs and items both record (an item repeats its job's kind, provider and model)."""
    return [
        Column("id", String(40), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("state", Integer, nullable=False),  # the contract's JobState / ItemState number
        Column("provider", String(32), nullable=False),
        Column("model", String(200), nullable=False),
        Column("estimated_cost_micros", BigInteger, nullable=False),
    ]


def _timestamps() -> list[Column[Any]]:
    """Unix seconds as floats (this schema predates the integer-microsecond convention)."""
    return [
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
    ]
