"""Storage: the only package that imports SQLAlchemy.

Public surface: open the database (:func:`open_database`, migrations on start), feed
state and claims, saving one poll (:func:`save_feed_update`), the outbox, reading
alerts, pruning. Rows leave as :mod:`monitor.types` values, never as ORM objects.
"""

from monitor.storage.alerts import list_alerts
from monitor.storage.articles import known_articles, save_feed_update
from monitor.storage.clock import shift_schedule
from monitor.storage.database import create_database_engine, open_database, ping, redacted
from monitor.storage.feeds import (
    FeedStatus,
    claim_feeds,
    count_failing_feeds,
    list_feed_status,
    load_feed_state,
    release_feeds,
    sync_feeds,
)
from monitor.storage.leases import release_dead_leases
from monitor.storage.migrate import upgrade
from monitor.storage.outbox import (
    claim_deliveries,
    defer_deliveries,
    delivery_report,
    enable_channels,
    mark_delivered,
    mark_failed,
    outbox_counts,
    release_deliveries,
    revive_dead_deliveries,
    undelivered,
)
from monitor.storage.prune import prune_articles
from monitor.storage.replay import StoredArticle, apply_replay, iter_stored_articles
from monitor.storage.story_alerts import (
    LOG_CHANNEL,
    AlertPolicy,
    alert_id,
    delivery_id,
    mark_channel_disabled,
    save_operator_alert,
)

__all__ = [
    "LOG_CHANNEL",
    "AlertPolicy",
    "FeedStatus",
    "StoredArticle",
    "alert_id",
    "apply_replay",
    "claim_deliveries",
    "claim_feeds",
    "count_failing_feeds",
    "create_database_engine",
    "defer_deliveries",
    "delivery_id",
    "delivery_report",
    "enable_channels",
    "iter_stored_articles",
    "known_articles",
    "list_alerts",
    "list_feed_status",
    "load_feed_state",
    "mark_channel_disabled",
    "mark_delivered",
    "mark_failed",
    "open_database",
    "outbox_counts",
    "ping",
    "prune_articles",
    "redacted",
    "release_dead_leases",
    "release_deliveries",
    "release_feeds",
    "revive_dead_deliveries",
    "save_feed_update",
    "save_operator_alert",
    "shift_schedule",
    "sync_feeds",
    "undelivered",
    "upgrade",
]
