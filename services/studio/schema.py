"""The studio's table (SQLAlchemy Core), ``studio_ads``, as the storage conventions of every
service have it (docs/ARCHITECTURE.md): instants in integer microseconds (``*_us``), states and
steps by name, the lease columns of ``reelforge.runtime.leases``. Created, or upgraded in place
by added columns and indexes, at start (``reelforge.runtime.schema.upgrade_schema``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, String, Table

from reelforge.runtime.leases import LeasedTable, lease_columns

metadata = MetaData()

ads = Table(
    "studio_ads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("state", String(24), nullable=False),
    Column("step", String(32), nullable=False),
    Column("document", LargeBinary, nullable=False),  # the Ad message, serialised
    Column("version", Integer, nullable=False, default=1),  # bumps on every change
    Column("created_us", BigInteger, nullable=False),  # microseconds since the epoch
    Column("updated_us", BigInteger, nullable=False),
    Column("call_sent_us", BigInteger, nullable=True),  # a create sent, its answer not saved
    *lease_columns(),
    Index("studio_ads_newest", "created_us", "id"),
    Index("studio_ads_state", "state"),
)

# Only a RUNNING ad is work a replica holds; an ad at a gate waits with nothing but its row.
RUNNING = "RUNNING"
CHANGES_CHANNEL = "studio_changes"
LEASED = LeasedTable(ads, ads.c.state == RUNNING, ads.c.created_us)
