"""Retention: old article texts and matches go, identity keys and alerts stay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import ArticleRow


@translates_errors
def prune_articles(engine: Engine, older_than: datetime) -> int:
    """Delete articles fetched before ``older_than``; returns how many went.

    Matches go with them (ON DELETE CASCADE); alerts keep their copy of the title,
    link and evidence; ``seen_keys`` keeps the identity so an old item that
    reappears in a feed is not news again.
    """
    with write_transaction(engine) as conn:
        result = conn.execute(delete(ArticleRow).where(ArticleRow.fetched_at < older_than))
    return int(result.rowcount or 0)
