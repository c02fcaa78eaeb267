"""The alert outbox: one row per channel, reason and key, so that an alert is never sent twice.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("work_id", sa.BigInteger),
        sa.Column("owner", sa.String(16)),
        sa.Column("raised_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("role", sa.String(8)),
        sa.Column("delivery", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("channel", "reason", "key", name="uq_alerts_channel_reason_key"),
    )
    op.create_index("ix_alerts_due", "alerts", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_due", "alerts")
    op.drop_table("alerts")
