"""Storage: the only package that imports SQLAlchemy.

Public surface: open the database (:func:`open_database`, migrations on start), feed
state and claims, saving one poll (:func:`save_feed_update`), the outbox, reading
alerts (with :func:`open_reader`, without SQLAlchemy), pruning. Rows leave as
:mod:`monitor.types` values, never as database rows (SQLAlchemy Core only, no ORM).

Imported lazily: a name is loaded from its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.storage.alert_rows import delivery_id
    from monitor.storage.alerts import last_sight_topic, list_alerts
    from monitor.storage.articles import known_articles, recent_keys, save_feed_update
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
    from monitor.storage.database import (
        create_database_engine,
        open_database,
        ping,
        redacted,
        upgrade_apart,
    )
    from monitor.storage.feeds import (
        FeedStatus,
        claim_feeds,
        count_failing_feeds,
        last_success_of_any,
        leased_elsewhere,
        list_feed_status,
        load_feed_state,
        release_feeds,
        renew_leases,
        reset_feed,
        sync_feeds,
    )
    from monitor.storage.leases import release_dead_leases
    from monitor.storage.log_channel import LOG_CHANNEL
    from monitor.storage.migrate import upgrade
    from monitor.storage.muted import Mute, active_mutes, muted_alerts
    from monitor.storage.mutes import (
        add_mute,
        end_mutes,
        find_story,
        mute_deliveries,
    )
    from monitor.storage.outbox import (
        claim_deliveries,
        defer_deliveries,
        delivery_report,
        enable_channels,
        mark_delivered,
        mark_failed,
        outbox_backlog,
        outbox_counts,
        release_deliveries,
        rename_channels,
        revive_dead_deliveries,
        undelivered,
    )
    from monitor.storage.prune import prune_articles
    from monitor.storage.reader import Reader, open_reader
    from monitor.storage.replay import StoredArticle, apply_replay, iter_stored_articles
    from monitor.storage.story_alerts import (
        mark_channel_disabled,
        save_operator_alert,
    )

_HOMES = {
    "list_alerts": "alerts",
    "last_sight_topic": "alerts",
    "known_articles": "articles",
    "recent_keys": "articles",
    "save_feed_update": "articles",
    "BatchTask": "batches",
    "claim_batches": "batches",
    "close_digest": "batches",
    "fail_batch": "batches",
    "finish_batch": "batches",
    "hold_for_window": "batches",
    "sent_in_window": "batches",
    "shift_schedule": "clock",
    "create_database_engine": "database",
    "open_database": "database",
    "ping": "database",
    "redacted": "database",
    "upgrade_apart": "database",
    "FeedStatus": "feeds",
    "claim_feeds": "feeds",
    "count_failing_feeds": "feeds",
    "last_success_of_any": "feeds",
    "list_feed_status": "feeds",
    "load_feed_state": "feeds",
    "release_feeds": "feeds",
    "leased_elsewhere": "feeds",
    "renew_leases": "feeds",
    "reset_feed": "feeds",
    "sync_feeds": "feeds",
    "release_dead_leases": "leases",
    "upgrade": "migrate",
    "Mute": "muted",
    "active_mutes": "muted",
    "add_mute": "mutes",
    "end_mutes": "mutes",
    "find_story": "mutes",
    "mute_deliveries": "mutes",
    "muted_alerts": "muted",
    "Reader": "reader",
    "open_reader": "reader",
    "claim_deliveries": "outbox",
    "defer_deliveries": "outbox",
    "delivery_report": "outbox",
    "enable_channels": "outbox",
    "mark_delivered": "outbox",
    "mark_failed": "outbox",
    "outbox_backlog": "outbox",
    "outbox_counts": "outbox",
    "release_deliveries": "outbox",
    "rename_channels": "outbox",
    "revive_dead_deliveries": "outbox",
    "undelivered": "outbox",
    "prune_articles": "prune",
    "StoredArticle": "replay",
    "apply_replay": "replay",
    "iter_stored_articles": "replay",
    "LOG_CHANNEL": "log_channel",
    "delivery_id": "alert_rows",
    "mark_channel_disabled": "story_alerts",
    "save_operator_alert": "story_alerts",
}
__all__ = [
    "LOG_CHANNEL",
    "BatchTask",
    "FeedStatus",
    "Mute",
    "Reader",
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
    "leased_elsewhere",
    "list_alerts",
    "list_feed_status",
    "load_feed_state",
    "mark_channel_disabled",
    "mark_delivered",
    "mark_failed",
    "mute_deliveries",
    "muted_alerts",
    "open_database",
    "open_reader",
    "outbox_backlog",
    "outbox_counts",
    "ping",
    "prune_articles",
    "recent_keys",
    "redacted",
    "release_dead_leases",
    "release_deliveries",
    "release_feeds",
    "rename_channels",
    "renew_leases",
    "reset_feed",
    "revive_dead_deliveries",
    "save_feed_update",
    "save_operator_alert",
    "sent_in_window",
    "shift_schedule",
    "sync_feeds",
    "undelivered",
    "upgrade",
    "upgrade_apart",
]


__getattr__ = lazy_getattr(__name__, _HOMES)
