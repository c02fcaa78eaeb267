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
    # the dashboard's list per team (web/queue.py), newest first
    Index("ix_work_owner", "status", "owner", "id"),
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

# The exception queue's history (store/history.py): one row per event in an exception's life, raised, each
# failed attempt, each person's action (actor and note), cleared. Append-only; kept when the record posts.
work_events = Table(
    "work_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("work_id", BigInteger, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("event", String(16), nullable=False),  # raised | failed | action | cleared
    Column("actor", String(64), nullable=False, default=""),
    Column("action", String(32), nullable=False, default=""),
    Column("status", String(12), nullable=False, default=""),  # the row's status after the event
    Column("reason", String(40)),
    Column("owner", String(16)),
    Column("note", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_work_events_work", "work_id", "id"),
)

# Mappings added from the exception queue (`map_and_retry`): a storefront SKU or shipping method and what
# it is in the ERP. Merged under `[mappings.*]` at plan time (the config wins where both name a source).
queue_mappings = Table(
    "queue_mappings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # sku | carrier
    Column("source", String(128), nullable=False),
    Column("target", String(128), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("kind", "source", name="uq_queue_mappings_source"),
)

# Tax and totals variances a person accepted (`accept_and_post`): the order posts with the storefront's
# figures, and each variance is finance's to reconcile. One row per order, field and storefront figure.
accepted_variances = Table(
    "accepted_variances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("work_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key", String(128), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("field", String(128), nullable=False),
    Column("expected", String(32), nullable=False),  # decimal strings, never float
    Column("actual", String(32), nullable=False),
    Column("variance", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("accepted_at", DateTime, nullable=False),
    Column("reconciled_at", DateTime),
    Column("reconciled_by", String(64)),
    UniqueConstraint("kind", "key", "reason", "field", "actual", name="uq_accepted_variance"),
)

# The alert outbox (trueup.alerts): one row per channel and exception, so that nothing is sent twice. A row
# is written when the exception is seen and marked sent once the channel took it (at-least-once: a crash
# between the two sends it again). The daily report's deliveries are rows here too (reason
# `daily_report`, key the day).
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("key", String(200), nullable=False),
    Column("work_id", BigInteger),
    Column("owner", String(16)),
    Column("raised_at", DateTime, nullable=False),
    Column("status", String(12), nullable=False),  # pending, sent, cleared, failed
    Column("role", String(8)),  # alert or digest, once sent
    Column("delivery", String(64)),  # the message it went out in (shared by a digest's rows)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    UniqueConstraint("channel", "reason", "key", name="uq_alerts_channel_reason_key"),
    Index("ix_alerts_due", "status", "next_at"),
)

# The web dashboard's people (web/auth.py): a user has one role; a password is kept as an argon2 hash.
web_users = Table(
    "web_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)

# Bearer tokens for scripts and for /metrics, and browser sessions: both kept only as SHA-256 hashes, so a
# copy of the database opens nothing. `kind` is "token" or "session"; a session carries its CSRF token.
web_credentials = Table(
    "web_credentials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("user_id", Integer, nullable=False),
    Column("label", String(64), nullable=False, default=""),
    Column("csrf", String(64), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime),
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

# The dashboard's flow health over time: `trueup run` writes each flow's backlog, lag and open exceptions
# every few minutes (web/snapshots.py); kept 14 days. The overview draws them.
flow_snapshots = Table(
    "flow_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("flow", String(64), nullable=False),
    Column("lane", String(64), nullable=False),
    Column("backlog", Integer, nullable=False),
    Column("lag_seconds", Integer, nullable=False),
    Column("open_exceptions", Integer, nullable=False),
    Index("ix_flow_snapshots_at", "at"),
)
