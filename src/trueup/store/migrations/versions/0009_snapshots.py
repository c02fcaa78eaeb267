"""The dashboard's flow health over time: flow_snapshots (backlog, lag and open exceptions per flow, written
by `trueup run` every few minutes, kept 14 days).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "flow_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("lane", sa.String(64), nullable=False),
        sa.Column("backlog", sa.Integer, nullable=False),
        sa.Column("lag_seconds", sa.Integer, nullable=False),
        sa.Column("open_exceptions", sa.Integer, nullable=False),
    )
    op.create_index("ix_flow_snapshots_at", "flow_snapshots", ["at"])


def downgrade() -> None:
    op.drop_index("ix_flow_snapshots_at", table_name="flow_snapshots")
    op.drop_table("flow_snapshots")
