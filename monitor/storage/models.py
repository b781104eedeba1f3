"""The database schema: SQLAlchemy Core tables (the Alembic migrations mirror these).

Only ``monitor.storage`` imports this module; rows never leave the package, repository
functions turn them into :mod:`monitor.types` values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

from monitor.storage.direct import without_nul


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
        return without_nul(value)


class NulFreeString(TypeDecorator[str]):
    """A length-limited :class:`NulFreeText` (``VARCHAR(n)``)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return without_nul(value)


metadata = MetaData()


class Base:
    """A table's class: its columns as attributes (``FeedRow.name``), and the table itself
    wherever a statement takes one (``select(FeedRow)``, ``insert(FeedRow)``).

    Plain SQLAlchemy Core, no ORM mapping: the storage functions run Core statements and
    read rows, never objects, so a process need not load the ORM (~40 modules, ~6 MiB
    resident for as long as the daemon runs).
    """

    metadata: ClassVar[MetaData] = metadata
    __tablename__: ClassVar[str]
    __table__: ClassVar[Table]
    __table_args__: ClassVar[tuple[Any, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns = []
        for key, value in vars(cls).items():
            if isinstance(value, Column):
                value.key = key
                if value.name is None:
                    value.name = key
                columns.append(value)
        cls.__table__ = Table(cls.__tablename__, metadata, *columns, *cls.__table_args__)

    @classmethod
    def __clause_element__(cls) -> Table:
        return cls.__table__


# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class FeedRow(Base):
    """A configured feed and its poll state."""

    __tablename__ = "feeds"

    id: Column[int] = Column(BigId, primary_key=True)
    name: Column[str] = Column(NulFreeString(200), unique=True, nullable=False)
    url: Column[str] = Column(NulFreeText, nullable=False)
    language: Column[str] = Column(NulFreeString(16), nullable=True)
    interval_s: Column[float] = Column(Float, default=600.0, nullable=False)
    enabled: Column[bool] = Column(Boolean, default=True, nullable=False)
    etag: Column[str] = Column(NulFreeText, nullable=True)
    last_modified: Column[str] = Column(NulFreeText, nullable=True)
    content_hash: Column[str] = Column(NulFreeString(64), nullable=True)
    status: Column[str] = Column(NulFreeString(32), default="new", nullable=False)
    http_status: Column[int] = Column(Integer, nullable=True)
    errors: Column[int] = Column(Integer, default=0, nullable=False)
    last_error: Column[str] = Column(NulFreeText, nullable=True)
    last_poll: Column[datetime] = Column(UTCDateTime, nullable=True)
    last_success: Column[datetime] = Column(UTCDateTime, nullable=True)
    next_poll: Column[datetime] = Column(UTCDateTime, index=True, nullable=True)
    down_since: Column[datetime] = Column(UTCDateTime, nullable=True)
    next_poll_reason: Column[str] = Column(NulFreeString(32), nullable=True)
    failing_since: Column[datetime] = Column(UTCDateTime, nullable=True)
    moved_to: Column[str] = Column(NulFreeText, nullable=True)
    lease_owner: Column[str] = Column(NulFreeString(100), nullable=True)
    lease_until: Column[datetime] = Column(UTCDateTime, nullable=True)
    hot_until: Column[datetime] = Column(UTCDateTime, nullable=True)
    """Polled at ``hot_interval_s`` until then: a story it carried is hot (0006)."""
    hot_interval_s: Column[float] = Column(Float, nullable=True)
    hot_topic: Column[str] = Column(NulFreeString(100), nullable=True)


class SeenKeyRow(Base):
    """Identity keys of every article ever seen; outlive article pruning."""

    __tablename__ = "seen_keys"
    # A feed's newest keys (a changed poll's known keys) read in order, not sorted from
    # all the feed ever had (0008).
    __table_args__ = (Index("ix_seen_keys_feed_first_seen", "feed_id", "first_seen"),)

    feed_id: Column[int] = Column(
        BigId, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    article_key: Column[str] = Column(NulFreeString(64), primary_key=True)
    first_seen: Column[datetime] = Column(UTCDateTime, nullable=False)


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("feed_id", "article_key", name="uq_articles_feed_key"),
        Index("ix_articles_url", "url"),
        Index("ix_articles_fetched_at", "fetched_at"),
    )

    id: Column[int] = Column(BigId, primary_key=True)
    feed_id: Column[int] = Column(BigId, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False)
    article_key: Column[str] = Column(NulFreeString(64), nullable=False)
    content_hash: Column[str] = Column(NulFreeString(64), nullable=False)
    url: Column[str] = Column(NulFreeText, nullable=True)
    link: Column[str] = Column(NulFreeText, nullable=True)
    guid: Column[str] = Column(NulFreeText, nullable=True)
    title: Column[str] = Column(NulFreeText, nullable=False)
    summary: Column[str] = Column(NulFreeText, default="", nullable=False)
    content: Column[str] = Column(NulFreeText, default="", nullable=False)
    language: Column[str] = Column(NulFreeString(16), nullable=True)
    published: Column[datetime] = Column(UTCDateTime, nullable=True)
    fetched_at: Column[datetime] = Column(UTCDateTime, nullable=False)
    updated_at: Column[datetime] = Column(UTCDateTime, nullable=False)


class MatchRow(Base):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("article_id", "topic", name="uq_matches_article_topic"),
        Index("ix_matches_topic_matched_at", "topic", "matched_at"),
        Index("ix_matches_topic_article", "topic", "article_id"),
    )

    id: Column[int] = Column(BigId, primary_key=True)
    article_id: Column[int] = Column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False
    )
    topic: Column[str] = Column(NulFreeString(100), index=True, nullable=False)
    score: Column[float] = Column(Float, nullable=False)
    evidence: Column[list[dict[str, Any]]] = Column(JSON, nullable=False)
    matched_at: Column[datetime] = Column(UTCDateTime, nullable=False)


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

    id: Column[str] = Column(NulFreeString(40), primary_key=True)
    seq: Column[int] = Column(BigInteger, nullable=False)
    """Commit order for `monitor alerts --follow` (microseconds since the epoch)."""
    kind: Column[str] = Column(NulFreeString(16), default="topic", nullable=False)
    topic: Column[str] = Column(NulFreeString(100), nullable=False)
    topic_name: Column[str] = Column(NulFreeText, default="", nullable=False)
    story_key: Column[str] = Column(NulFreeString(200), nullable=False)
    title_key: Column[str] = Column(NulFreeText, default="", nullable=False)
    article_id: Column[int] = Column(
        BigId, ForeignKey("articles.id", ondelete="SET NULL"), nullable=True
    )
    title: Column[str] = Column(NulFreeText, nullable=False)
    summary: Column[str] = Column(NulFreeText, default="", nullable=False)
    url: Column[str] = Column(NulFreeText, nullable=True)
    feed: Column[str] = Column(NulFreeString(200), nullable=False)
    feeds: Column[list[str]] = Column(JSON, nullable=False)
    language: Column[str] = Column(NulFreeString(16), nullable=True)
    published: Column[datetime] = Column(UTCDateTime, nullable=True)
    detected_at: Column[datetime] = Column(UTCDateTime, nullable=False)
    evidence: Column[list[dict[str, Any]]] = Column(JSON, nullable=False)
    outlets: Column[list[dict[str, Any]]] = Column(JSON, nullable=True)
    """[{"feed", "at", "outlet", "kind", "country"}] in the order the feeds carried the
    story (0002; None before; the outlet fields since 0006)."""
    state: Column[str] = Column(NulFreeString(16), nullable=True)
    """None: alerted. ``unconfirmed``: a story of a topic with ``confirm:`` that has not
    (yet) been carried by enough outlets: stored, not listed, not delivered (0006)."""
    confirmed_by: Column[list[str]] = Column(JSON, nullable=True)
    confirmed_at: Column[datetime] = Column(UTCDateTime, nullable=True)


class BatchRow(Base):
    """One message carrying several alerts of a channel: a digest period, or the alerts
    a channel's rate held back ("N more alerts"). Its deliveries point at it."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "period_start", name="uq_batches_channel_period"),
        Index("ix_batches_due", "status", "next_attempt"),
    )

    id: Column[int] = Column(BigId, primary_key=True)
    channel: Column[str] = Column(NulFreeString(200), nullable=False)
    kind: Column[str] = Column(NulFreeString(16), nullable=False)
    period_start: Column[datetime] = Column(UTCDateTime, nullable=False)
    period_end: Column[datetime] = Column(UTCDateTime, nullable=False)
    status: Column[str] = Column(NulFreeString(16), default="pending", nullable=False)
    """pending, delivered, dead."""
    attempts: Column[int] = Column(Integer, default=0, nullable=False)
    next_attempt: Column[datetime] = Column(UTCDateTime, nullable=False)
    lease_owner: Column[str] = Column(NulFreeString(100), nullable=True)
    lease_until: Column[datetime] = Column(UTCDateTime, nullable=True)
    last_error: Column[str] = Column(NulFreeText, nullable=True)
    created_at: Column[datetime] = Column(UTCDateTime, nullable=False)
    delivered_at: Column[datetime] = Column(UTCDateTime, nullable=True)


class MuteRow(Base):
    """A topic or story silenced on every channel until ``until`` (or ``ended_at``)."""

    __tablename__ = "mutes"
    __table_args__ = (Index("ix_mutes_until", "until"),)

    id: Column[int] = Column(BigId, primary_key=True)
    kind: Column[str] = Column(NulFreeString(16), nullable=False)
    """topic or story."""
    target: Column[str] = Column(NulFreeString(200), nullable=False)
    """The topic id, or the story key of the alert named."""
    label: Column[str] = Column(NulFreeText, default="", nullable=False)
    reason: Column[str] = Column(NulFreeText, default="", nullable=False)
    created_at: Column[datetime] = Column(UTCDateTime, nullable=False)
    until: Column[datetime] = Column(UTCDateTime, nullable=False)
    ended_at: Column[datetime] = Column(UTCDateTime, nullable=True)


class DeliveryRow(Base):
    """The outbox: one row per alert and channel, written with the alert."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", name="uq_deliveries_alert_channel"),
        Index("ix_deliveries_due", "status", "next_attempt"),
    )

    id: Column[int] = Column(BigId, primary_key=True)
    alert_id: Column[str] = Column(
        NulFreeString(40), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    channel: Column[str] = Column(NulFreeString(200), nullable=False)
    status: Column[str] = Column(NulFreeString(16), default="pending", nullable=False)
    """pending, delivered, dead (gave up), skipped (channel disabled or gone), muted."""
    attempts: Column[int] = Column(Integer, default=0, nullable=False)
    next_attempt: Column[datetime] = Column(UTCDateTime, nullable=False)
    lease_owner: Column[str] = Column(NulFreeString(100), nullable=True)
    lease_until: Column[datetime] = Column(UTCDateTime, nullable=True)
    last_error: Column[str] = Column(NulFreeText, nullable=True)
    created_at: Column[datetime] = Column(UTCDateTime, nullable=False)
    delivered_at: Column[datetime] = Column(UTCDateTime, nullable=True)
    batch_id: Column[int] = Column(
        BigId, ForeignKey("batches.id", ondelete="SET NULL"), nullable=True, index=True
    )
    """The digest or "N more alerts" message that carries this row (0002)."""


class ChannelStateRow(Base):
    """Channels switched off by their receiver (a webhook answering 410 Gone)."""

    __tablename__ = "channel_state"

    channel: Column[str] = Column(NulFreeString(200), primary_key=True)
    disabled_at: Column[datetime] = Column(UTCDateTime, nullable=True)
    reason: Column[str] = Column(NulFreeText, nullable=True)
