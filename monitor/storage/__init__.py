"""Storage: the only package that imports SQLAlchemy.

Public surface: open the database (:func:`open_database`, migrations on start), feed
state and claims, saving one poll (:func:`save_feed_update`), the outbox, reading
alerts, pruning. Rows leave as :mod:`monitor.types` values, never as ORM objects.
"""

from monitor.storage.alerts import last_sight_topic, list_alerts
from monitor.storage.articles import known_articles, save_feed_update
from monitor.storage.batches import (
    BatchTask,
    claim_batches,
    close_digest,
    fail_batch,
    finish_batch,
    hold_for_window,
    sent_in_window,
)
from monitor.storage.clock import shift_schedule
from monitor.storage.database import create_database_engine, open_database, ping, redacted
from monitor.storage.feeds import (
    FeedStatus,
    claim_feeds,
    count_failing_feeds,
    last_success_of_any,
    list_feed_status,
    load_feed_state,
    release_feeds,
    reset_feed,
    sync_feeds,
)
from monitor.storage.leases import release_dead_leases
from monitor.storage.migrate import upgrade
from monitor.storage.mutes import (
    Mute,
    active_mutes,
    add_mute,
    end_mutes,
    find_story,
    mute_deliveries,
    muted_alerts,
)
from monitor.storage.outbox import (
    claim_deliveries,
    defer_deliveries,
    delivery_report,
    enable_channels,
    mark_delivered,
    mark_failed,
    outbox_counts,
    release_deliveries,
    rename_channels,
    revive_dead_deliveries,
    undelivered,
)
from monitor.storage.prune import prune_articles
from monitor.storage.replay import StoredArticle, apply_replay, iter_stored_articles
from monitor.storage.story_alerts import (
    LOG_CHANNEL,
    delivery_id,
    mark_channel_disabled,
    save_operator_alert,
)

__all__ = [
    "LOG_CHANNEL",
    "BatchTask",
    "FeedStatus",
    "Mute",
    "StoredArticle",
    "active_mutes",
    "add_mute",
    "apply_replay",
    "claim_batches",
    "claim_deliveries",
    "claim_feeds",
    "close_digest",
    "count_failing_feeds",
    "create_database_engine",
    "defer_deliveries",
    "delivery_id",
    "delivery_report",
    "enable_channels",
    "end_mutes",
    "fail_batch",
    "find_story",
    "finish_batch",
    "hold_for_window",
    "iter_stored_articles",
    "known_articles",
    "last_sight_topic",
    "last_success_of_any",
    "list_alerts",
    "list_feed_status",
    "load_feed_state",
    "mark_channel_disabled",
    "mark_delivered",
    "mark_failed",
    "mute_deliveries",
    "muted_alerts",
    "open_database",
    "outbox_counts",
    "ping",
    "prune_articles",
    "redacted",
    "release_dead_leases",
    "release_deliveries",
    "release_feeds",
    "rename_channels",
    "reset_feed",
    "revive_dead_deliveries",
    "save_feed_update",
    "save_operator_alert",
    "sent_in_window",
    "shift_schedule",
    "sync_feeds",
    "undelivered",
    "upgrade",
]
