"""The exception queue: work_events (each exception's whole life), queue_mappings (SKU and carrier mappings
added from the queue) and accepted_variances (finance's reconciliation list).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "work_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("work_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("owner", sa.String(16)),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_work_events_work", "work_events", ["work_id", "id"])
    op.create_table(
        "queue_mappings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("kind", "source", name="uq_queue_mappings_source"),
    )
    op.create_table(
        "accepted_variances",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("field", sa.String(128), nullable=False),
        sa.Column("expected", sa.String(32), nullable=False),
        sa.Column("actual", sa.String(32), nullable=False),
        sa.Column("variance", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("accepted_at", sa.DateTime, nullable=False),
        sa.Column("reconciled_at", sa.DateTime),
        sa.Column("reconciled_by", sa.String(64)),
        sa.UniqueConstraint("kind", "key", "reason", "field", "actual", name="uq_accepted_variance"),
    )


def downgrade() -> None:
    op.drop_table("accepted_variances")
    op.drop_table("queue_mappings")
    op.drop_index("ix_work_events_work", "work_events")
    op.drop_table("work_events")
