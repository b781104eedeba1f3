"""What each console page shows: reads the query, asks storage, shapes a template context.

One function per page; each returns (template name, context) or raises
:class:`~monitor.web.params.ParamError` (a 400) or :class:`PageNotFoundError` (a 404). No HTTP
here (see :mod:`monitor.web.app`) and no HTML (the templates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from monitor import storage
from monitor.render import next_poll_why, shown_status
from monitor.storage.console import list_stories, load_story, topic_timeline
from monitor.storage.feeds import FeedStatus
from monitor.topics.spec import TopicConfig
from monitor.types import Alert
from monitor.web.chart import build_chart
from monitor.web.params import (
    SyndicationQuery,
    read_feeds_query,
    read_stories_query,
    read_syndication_query,
    read_timeline_query,
)
from monitor.web.stories import (
    describe_rule,
    fired_rule,
    rule_blocks,
    story_articles,
    story_outlets,
)

__all__ = ["Console", "PageNotFoundError"]

Page = tuple[str, dict[str, Any]]
FAILING = ("error", "gone")


class PageNotFoundError(LookupError):
    """No such story or topic."""


@dataclass(frozen=True)
class Console:
    """What the pages read: the database and the configured topics (for their rules)."""

    engine: Engine
    topics: Sequence[TopicConfig] = ()
    channels: Mapping[str, str] = field(default_factory=dict)
    """channel key → a readable description (the kind and target of a notify entry)."""

    def topic(self, topic_id: str) -> TopicConfig | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def rule_lines(self, alert: Alert) -> tuple[str, list[str]] | None:
        config = self.topic(alert.topic)
        if config is None:
            return None
        fired = fired_rule(config, [e.term for e in alert.evidence])
        if fired is None:
            return None
        heading = "the topic's rule" if fired.of == 1 else f"rule {fired.number} of {fired.of}"
        return heading, describe_rule(fired.rule)

    # --- pages -------------------------------------------------------------
    def stories_page(self, params: Mapping[str, str], now: datetime) -> Page:
        query = read_stories_query(params, now)
        rows = list_stories(
            self.engine,
            topic=query.topic,
            feed=query.feed,
            since=query.since,
            until=query.until,
            before_seq=query.before,
            limit=query.limit,
        )
        stories = [
            {
                "alert": row.alert,
                "outlets": story_outlets(row.alert, row.articles),
                "rule": self.rule_lines(row.alert),
            }
            for row in rows
        ]
        more = None
        if len(rows) == query.limit:
            more = {k: v for k, v in params.items() if k != "before"} | {
                "before": str(rows[-1].seq)
            }
        return "stories.html", {
            "stories": stories,
            "query": query,
            "next_page": more,
            "topics": self.topics,
        }

    def story_page(self, alert_id: str) -> Page:
        if len(alert_id) > 64:
            raise PageNotFoundError(alert_id)
        detail = load_story(self.engine, alert_id)
        if detail is None:
            raise PageNotFoundError(alert_id)
        articles = story_articles(detail.alert, detail.articles, detail.candidates)
        return "story.html", {
            "alert": detail.alert,
            "articles": articles,
            "outlets": story_outlets(detail.alert, articles),
            "rule": self.rule_lines(detail.alert),
            "deliveries": detail.deliveries,
            "channels": self.channels,
        }

    def topic_page(self, topic_id: str, params: Mapping[str, str], now: datetime) -> Page:
        query = read_timeline_query(params, now)
        config = self.topic(topic_id)
        stories = list_stories(self.engine, topic=topic_id, limit=20)
        if config is None and not stories:
            raise PageNotFoundError(topic_id)
        counts = topic_timeline(
            self.engine, topic_id, since=query.since, until=query.until, unit=query.unit
        )
        blocks = [describe_rule(r) for r in rule_blocks(config)] if config else []
        return "topic.html", {
            "topic_id": topic_id,
            "config": config,
            "blocks": blocks,
            "chart": build_chart(counts, since=query.since, until=query.until, unit=query.unit),
            "query": query,
            "stories": [
                {"alert": r.alert, "outlets": story_outlets(r.alert, r.articles)} for r in stories
            ],
        }

    def feeds_page(self, params: Mapping[str, str]) -> Page:
        query = read_feeds_query(params)
        statuses = storage.list_feed_status(self.engine, include_disabled=True)
        return "feeds.html", {"feeds": sort_feeds(statuses, query.sort), "sort": query.sort}

    def syndication(
        self, params: Mapping[str, str], now: datetime
    ) -> tuple[SyndicationQuery, list[Alert]]:
        query = read_syndication_query(params, now)
        rows = storage.list_alerts(self.engine, topic=query.topic, since=query.since, limit=50)
        return query, [alert for _, alert in reversed(rows)]


def _time_key(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("-inf")


def sort_feeds(statuses: Sequence[FeedStatus], sort: str) -> list[dict[str, Any]]:
    """Rows for the feeds page; ``health`` puts failing feeds first, most errors first."""
    rows = [{"status": s, "shown": shown_status(s), "reason": next_poll_why(s)} for s in statuses]
    keys = {
        "health": lambda r: (
            r["shown"] not in FAILING,
            -r["status"].state.errors,
            r["status"].spec.name,
        ),
        "name": lambda r: r["status"].spec.name,
        "status": lambda r: (r["shown"], r["status"].spec.name),
        "errors": lambda r: (-r["status"].state.errors, r["status"].spec.name),
        "last_success": lambda r: _time_key(r["status"].state.last_success),
        "next_poll": lambda r: _time_key(r["status"].state.next_poll),
        "articles": lambda r: (-r["status"].articles, r["status"].spec.name),
    }
    return sorted(rows, key=keys[sort])
