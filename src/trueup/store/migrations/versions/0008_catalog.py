"""The catalogue flow: pushed_items (the last confirmed push of each product's technical attributes).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"  # after the dashboard tables


def upgrade() -> None:
    op.create_table(
        "pushed_items",
        sa.Column("sku", sa.String(128), primary_key=True),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("erp_item_id", sa.String(64), nullable=False),
        sa.Column("barcode", sa.String(32), nullable=False),
        sa.Column("batch", sa.String(128), nullable=False),
        sa.Column("pushed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pushed_items")
