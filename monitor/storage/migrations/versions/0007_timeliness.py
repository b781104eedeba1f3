"""timeliness: why a feed's next poll is when it is, since when it fails, where it moved

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("next_poll_reason", sa.String(length=32), nullable=True))
    op.add_column("feeds", sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("feeds", sa.Column("moved_to", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.drop_column("moved_to")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("next_poll_reason")
