"""The first tables: links, item_map, work (the ledger), cursors, audit, workers.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("storefront", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("erp", sa.String(32), nullable=False),
        sa.Column("erp_ref", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("storefront", "kind", "external_id", name="uq_links_storefront_key"),
        sa.UniqueConstraint("erp", "kind", "erp_ref", name="uq_links_erp_key"),
    )
    op.create_table(
        "item_map",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("erp", sa.String(32), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("erp_item_id", sa.String(128), nullable=False),
        sa.Column("barcode", sa.String(32)),
        sa.Column("pid", sa.String(32)),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("source_version", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("erp", "sku", name="uq_item_map_sku"),
        sa.UniqueConstraint("erp", "erp_item_id", name="uq_item_map_erp_item"),
    )
    op.create_table(
        "work",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("lane", sa.String(16), nullable=False),
        sa.Column("lock", sa.String(160), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("source_version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.DateTime, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("error_band", sa.String(12)),
        sa.Column("reason", sa.String(40)),
        sa.Column("owner", sa.String(16)),
        sa.Column("field", sa.String(128)),
        sa.Column("detail", sa.Text),
        sa.Column("impact_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("result", sa.String(128)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_work_kind_key"),
    )
    op.create_index("ix_work_claim", "work", ["lane", "status", "next_at"])
    op.create_index("ix_work_lock", "work", ["lock", "id"])
    op.create_index("ix_work_reason", "work", ["status", "reason"])
    op.create_table(
        "cursors",
        sa.Column("flow", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_key", "audit", ["kind", "key"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("workers", "audit", "cursors", "work", "item_map", "links"):
        op.drop_table(table)
