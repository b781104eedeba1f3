"""signals across outlets: confirmation state of alerts, hot feeds, matches by time

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("confirmed_by", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hot_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hot_interval_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("hot_topic", sa.String(length=100), nullable=True))
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index("ix_matches_topic_matched_at", ["topic", "matched_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index("ix_matches_topic_matched_at")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("hot_topic")
        batch_op.drop_column("hot_interval_s")
        batch_op.drop_column("hot_until")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed_by")
        batch_op.drop_column("state")
