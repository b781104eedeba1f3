"""The database schema: SQLAlchemy table models (the Alembic migrations mirror these).

Only ``monitor.storage`` imports this module; rows never leave the package as ORM
objects, repository functions turn them into :mod:`monitor.types` values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python, whatever the database keeps.

    SQLite has no time zones: values are stored as naive UTC and come back aware,
    so comparisons never mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        # A poll writes the same ``now`` into several columns of every row it stores:
        # the last value converted is remembered (one tuple, replaced whole: threads
        # share this processor).
        process = super().bind_processor(dialect)
        if process is None:
            return None
        last: list[tuple[Any, Any]] = [(None, None)]

        def remembered(value: Any) -> Any:
            seen, out = last[0]
            if value is seen and value is not None:
                return out
            out = process(value)
            last[0] = (value, out)
            return out

        return remembered

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class NulFreeText(TypeDecorator[str]):
    """Text without NUL characters: PostgreSQL refuses them in text values.

    :mod:`monitor.parsing.normalize` already strips them from article fields; this catches
    every other string that reaches a row (error messages, HTTP validators, names).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)


class NulFreeString(TypeDecorator[str]):
    """A length-limited :class:`NulFreeText` (``VARCHAR(n)``)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)


def _without_nul(value: str | None) -> str | None:
    return value.replace("\x00", "") if value and "\x00" in value else value


class Base(DeclarativeBase):
    pass


# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class FeedRow(Base):
    """A configured feed and its poll state."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(NulFreeString(200), unique=True)
    url: Mapped[str] = mapped_column(NulFreeText)
    language: Mapped[str | None] = mapped_column(NulFreeString(16))
    interval_s: Mapped[float] = mapped_column(Float, default=600.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(NulFreeText)
    last_modified: Mapped[str | None] = mapped_column(NulFreeText)
    content_hash: Mapped[str | None] = mapped_column(NulFreeString(64))
    status: Mapped[str] = mapped_column(NulFreeString(32), default="new")
    http_status: Mapped[int | None] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(NulFreeText)
    last_poll: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_reason: Mapped[str | None] = mapped_column(NulFreeString(32))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moved_to: Mapped[str | None] = mapped_column(NulFreeText)
    lease_owner: Mapped[str | None] = mapped_column(NulFreeString(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hot_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """Polled at ``hot_interval_s`` until then: a story it carried is hot (0006)."""
    hot_interval_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    hot_topic: Mapped[str | None] = mapped_column(NulFreeString(100), nullable=True)


class SeenKeyRow(Base):
    """Identity keys of every article ever seen; outlive article pruning."""

    __tablename__ = "seen_keys"

    feed_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    article_key: Mapped[str] = mapped_column(NulFreeString(64), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("feed_id", "article_key", name="uq_articles_feed_key"),
        Index("ix_articles_url", "url"),
        Index("ix_articles_fetched_at", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feed_id: Mapped[int] = mapped_column(BigId, ForeignKey("feeds.id", ondelete="CASCADE"))
    article_key: Mapped[str] = mapped_column(NulFreeString(64))
    content_hash: Mapped[str] = mapped_column(NulFreeString(64))
    url: Mapped[str | None] = mapped_column(NulFreeText)
    link: Mapped[str | None] = mapped_column(NulFreeText)
    guid: Mapped[str | None] = mapped_column(NulFreeText)
    title: Mapped[str] = mapped_column(NulFreeText)
    summary: Mapped[str] = mapped_column(NulFreeText, default="")
    content: Mapped[str] = mapped_column(NulFreeText, default="")
    language: Mapped[str | None] = mapped_column(NulFreeString(16))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatchRow(Base):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("article_id", "topic", name="uq_matches_article_topic"),
        Index("ix_matches_topic_matched_at", "topic", "matched_at"),
        Index("ix_matches_topic_article", "topic", "article_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("articles.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(NulFreeString(100), index=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRow(Base):
    """One alert per topic and story (``story_key``); later copies only add feeds."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("topic", "story_key", name="uq_alerts_topic_story"),
        Index("ix_alerts_detected_at", "detected_at"),
        Index("ix_alerts_seq", "seq"),
        Index("ix_alerts_topic_seq", "topic", "seq"),
        Index("ix_alerts_kind_seq", "kind", "seq"),
    )

    id: Mapped[str] = mapped_column(NulFreeString(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    """Commit order for `monitor alerts --follow` (microseconds since the epoch)."""
    kind: Mapped[str] = mapped_column(NulFreeString(16), default="topic")
    topic: Mapped[str] = mapped_column(NulFreeString(100))
    topic_name: Mapped[str] = mapped_column(NulFreeText, default="")
    story_key: Mapped[str] = mapped_column(NulFreeString(200))
    title_key: Mapped[str] = mapped_column(NulFreeText, default="")
    article_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(NulFreeText)
    summary: Mapped[str] = mapped_column(NulFreeText, default="")
    url: Mapped[str | None] = mapped_column(NulFreeText)
    feed: Mapped[str] = mapped_column(NulFreeString(200))
    feeds: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(NulFreeString(16))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    outlets: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    """[{"feed", "at", "outlet", "kind", "country"}] in the order the feeds carried the
    story (0002; None before; the outlet fields since 0006)."""
    state: Mapped[str | None] = mapped_column(NulFreeString(16), nullable=True)
    """None: alerted. ``unconfirmed``: a story of a topic with ``confirm:`` that has not
    (yet) been carried by enough outlets: stored, not listed, not delivered (0006)."""
    confirmed_by: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BatchRow(Base):
    """One message carrying several alerts of a channel: a digest period, or the alerts
    a channel's rate held back ("N more alerts"). Its deliveries point at it."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "period_start", name="uq_batches_channel_period"),
        Index("ix_batches_due", "status", "next_attempt"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(NulFreeString(200))
    kind: Mapped[str] = mapped_column(NulFreeString(16))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(NulFreeString(16), default="pending")
    """pending, delivered, dead."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(NulFreeString(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(NulFreeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MuteRow(Base):
    """A topic or story silenced on every channel until ``until`` (or ``ended_at``)."""

    __tablename__ = "mutes"
    __table_args__ = (Index("ix_mutes_until", "until"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(NulFreeString(16))
    """topic or story."""
    target: Mapped[str] = mapped_column(NulFreeString(200))
    """The topic id, or the story key of the alert named."""
    label: Mapped[str] = mapped_column(NulFreeText, default="")
    reason: Mapped[str] = mapped_column(NulFreeText, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryRow(Base):
    """The outbox: one row per alert and channel, written with the alert."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", name="uq_deliveries_alert_channel"),
        Index("ix_deliveries_due", "status", "next_attempt"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[str] = mapped_column(
        NulFreeString(40), ForeignKey("alerts.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(NulFreeString(200))
    status: Mapped[str] = mapped_column(NulFreeString(16), default="pending")
    """pending, delivered, dead (gave up), skipped (channel disabled or gone), muted."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(NulFreeString(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(NulFreeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    batch_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("batches.id", ondelete="SET NULL"), nullable=True, index=True
    )
    """The digest or "N more alerts" message that carries this row (0002)."""


class ChannelStateRow(Base):
    """Channels switched off by their receiver (a webhook answering 410 Gone)."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(NulFreeString(200), primary_key=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(NulFreeText)
