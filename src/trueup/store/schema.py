"""The tables. Every idempotency key is a database unique constraint, not a Python check.

Times are naive UTC datetimes. Money in the ledger's impact column is integer minor units.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# The storefront object ⇄ ERP object links: orders, items, shipments, credit notes.
links = Table(
    "links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("storefront", String(32), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("erp", String(32), nullable=False),
    Column("erp_ref", String(128), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("storefront", "kind", "external_id", name="uq_links_storefront_key"),
    UniqueConstraint("erp", "kind", "erp_ref", name="uq_links_erp_key"),
)

# Storefront SKU ⇄ ERP item, as last read from the ERP's item master.
item_map = Table(
    "item_map",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("erp", String(32), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("erp_item_id", String(128), nullable=False),
    Column("barcode", String(32)),
    Column("pid", String(32)),
    Column("name", String(255), nullable=False, default=""),
    Column("active", Boolean, nullable=False),
    Column("source_version", String(64), nullable=False, default=""),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("erp", "sku", name="uq_item_map_sku"),
    UniqueConstraint("erp", "erp_item_id", name="uq_item_map_erp_item"),
)

# The work ledger: one row per unit of work and its outcome. The exception queue is a view of it.
work = Table(
    "work",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(128), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("lock", String(160), nullable=False),
    Column("payload", Text, nullable=False),
    Column("source_version", String(64), nullable=False, default=""),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("lease_until", DateTime),
    Column("error_band", String(12)),
    Column("reason", String(40)),
    Column("owner", String(16)),
    Column("field", String(128)),
    Column("system", String(32)),
    Column("detail", Text),
    Column("impact_minor", BigInteger, nullable=False, default=0),
    Column("currency", String(3)),
    Column("result", String(128)),
    # When the record was handed to a batch ERP (status `sent`); the acknowledgement timeout counts from it.
    Column("sent_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("kind", "key", name="uq_work_kind_key"),
    Index("ix_work_claim", "lane", "status", "next_at"),
    Index("ix_work_lock", "lock", "id"),
    Index("ix_work_reason", "status", "reason"),
)

# Per flow and source: how far observation has got. Advanced in the same transaction as the work it covers.
cursors = Table(
    "cursors",
    metadata,
    Column("flow", String(32), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# Who did what, when, to which key. Append-only.
audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key", String(128), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_audit_key", "kind", "key"),
)

# Live engine processes. A worker whose heartbeat has stopped has its claimed rows swept back.
workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(128), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
)

# The last stock quantity the storefront confirmed per SKU × source (the stock planner's "before"). Written
# in the same transaction as the ledger row of the batch that pushed it (store/stock.py).
pushed_stock = Table(
    "pushed_stock",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("source_code", String(64), primary_key=True),
    Column("qty", BigInteger, nullable=False),
    Column("batch", String(128), nullable=False),
    Column("pushed_at", DateTime, nullable=False),
)

# Stock drift seen and not yet cleared: when it was first seen, so that only a lasting drift parks.
stock_drift = Table(
    "stock_drift",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("source_code", String(64), primary_key=True),
    Column("expected", BigInteger, nullable=False),
    Column("actual", BigInteger, nullable=False),
    Column("first_seen", DateTime, nullable=False),
)

# The last price the storefront confirmed per SKU, kind, customer group and quantity (the price planner's
# "before"), written with the outcome of the batch that pushed it. Prices as canonical decimal strings.
pushed_prices = Table(
    "pushed_prices",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("customer_group", String(64), primary_key=True),
    Column("min_qty", Integer, primary_key=True),
    Column("price", String(32), nullable=False),
    Column("batch", String(128), nullable=False),
    Column("pushed_at", DateTime, nullable=False),
)

# The catalogue flow: the last confirmed push of each product's technical attributes (a digest of them),
# and the ERP item id and barcode it was pushed for, to tell a renamed SKU (R-CAT-3).
pushed_items = Table(
    "pushed_items",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("digest", String(32), nullable=False),
    Column("erp_item_id", String(64), nullable=False),
    Column("barcode", String(32), nullable=False),
    Column("batch", String(128), nullable=False),
    Column("pushed_at", DateTime, nullable=False),
)
