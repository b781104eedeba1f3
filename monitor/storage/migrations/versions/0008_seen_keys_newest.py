"""an index for a feed's newest identity keys

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-08

A changed poll asks for the feed's newest known keys (``recent_keys``: ORDER BY
first_seen DESC LIMIT n). Without an index on (feed_id, first_seen) the database read
and sorted every key the feed ever had on each such poll: work and memory that grew
with the feed's history. Only an index: no table or column changes.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_seen_keys_feed_first_seen", "seen_keys", ["feed_id", "first_seen"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_seen_keys_feed_first_seen", table_name="seen_keys")
