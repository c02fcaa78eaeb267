"""Stock and price flows: pushed_stock (the last confirmed push per SKU × source), stock_drift, and
pushed_prices (the last confirmed price per SKU, kind, customer group and quantity).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"  # after the acknowledgements column


def upgrade() -> None:
    op.create_table(
        "pushed_stock",
        sa.Column("sku", sa.String(128), primary_key=True),
        sa.Column("source_code", sa.String(64), primary_key=True),
        sa.Column("qty", sa.BigInteger, nullable=False),
        sa.Column("batch", sa.String(128), nullable=False),
        sa.Column("pushed_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "stock_drift",
        sa.Column("sku", sa.String(128), primary_key=True),
        sa.Column("source_code", sa.String(64), primary_key=True),
        sa.Column("expected", sa.BigInteger, nullable=False),
        sa.Column("actual", sa.BigInteger, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
    )

    op.create_table(
        "pushed_prices",
        sa.Column("sku", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("customer_group", sa.String(64), primary_key=True),
        sa.Column("min_qty", sa.Integer, primary_key=True),
        sa.Column("price", sa.String(32), nullable=False),
        sa.Column("batch", sa.String(128), nullable=False),
        sa.Column("pushed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pushed_prices")
    op.drop_table("stock_drift")
    op.drop_table("pushed_stock")
