"""Each subpackage's public surface, pinned (as httpx's tests/test_exported_members.py).

A name added to or dropped from a package's ``__all__`` is a change of its surface:
this test makes it a deliberate one. Every listed name must also resolve.
"""

from __future__ import annotations

import importlib

import pytest

SURFACES = {
    "monitor.alerts": [
        "AlertLog",
        "AlertPolicy",
        "Channel",
        "ChannelConfigError",
        "ChannelProblem",
        "StoryDecision",
        "StoryOutcome",
        "build_channels",
        "decide_match",
        "matched_article",
        "operator_alert",
        "render_html",
        "render_markdown",
        "render_text",
        "retry_delay",
        "subject",
    ],
    "monitor.config": [
        "Config",
        "NotifyConfig",
        "SmtpConfig",
        "default_config_path",
        "load_config",
        "load_config_checked",
        "parse_duration",
        "summarize_config",
    ],
    "monitor.feedstate": ["NextState", "PollEnding", "decide_next_state", "next_poll"],
    "monitor.fetching": [
        "BadUrlError",
        "FetchSettings",
        "Fetcher",
        "check_url",
        "classify_exception",
    ],
    "monitor.parsing": [
        "ParserPool",
        "PreparedFeed",
        "normalize_feed",
        "parse_bytes",
        "prepare_here",
    ],
    "monitor.service": ["App", "Deliverer", "alert_policy", "build_app", "run_daemon", "run_pass"],
    "monitor.storage": [
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
        "renew_leases",
        "reset_feed",
        "rename_channels",
        "revive_dead_deliveries",
        "save_feed_update",
        "save_operator_alert",
        "sent_in_window",
        "shift_schedule",
        "sync_feeds",
        "undelivered",
        "upgrade",
        "upgrade_apart",
    ],
    "monitor.topics": ["TopicSet", "check_topic", "compile_topics"],
}


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_public_surface_is_pinned_and_every_name_resolves(package: str) -> None:
    module = importlib.import_module(package)

    assert sorted(module.__all__) == sorted(SURFACES[package])
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    fetching = importlib.import_module("monitor.fetching")
    with pytest.raises(AttributeError):
        fetching.no_such_thing  # noqa: B018
