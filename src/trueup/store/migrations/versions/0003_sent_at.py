"""work.sent_at: when a record was handed to a batch ERP that acknowledges later (status `sent`).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("work") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("work") as batch:
        batch.drop_column("sent_at")
