"""work.system: the system at fault for an exception (R-MON-1).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("work") as batch:
        batch.add_column(sa.Column("system", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("work") as batch:
        batch.drop_column("system")
