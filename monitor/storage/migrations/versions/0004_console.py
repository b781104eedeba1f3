"""indexes for the web console's read-only queries

Revision ID: 0004
Revises: 0007
Create Date: 2026-12-07

The console lists a topic's newest stories (alerts by topic, newest first), the newest
topic alerts of every topic (by kind), and a topic's matches over time (matches by
topic joined to their articles). Only indexes: no table or column changes.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alerts_topic_seq", "alerts", ["topic", "seq"])
    op.create_index("ix_alerts_kind_seq", "alerts", ["kind", "seq"])
    op.create_index("ix_matches_topic_article", "matches", ["topic", "article_id"])


def downgrade() -> None:
    op.drop_index("ix_matches_topic_article", table_name="matches")
    op.drop_index("ix_alerts_kind_seq", table_name="alerts")
    op.drop_index("ix_alerts_topic_seq", table_name="alerts")
