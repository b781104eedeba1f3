"""Feeds and their poll state: sync with the configuration, claim due feeds, report.

Claiming is how several workers share feeds: on PostgreSQL ``FOR UPDATE SKIP
LOCKED`` plus a lease in database time; on SQLite the same statements under
SQLite's single writer. Nothing here fetches or decides schedules.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.direct import feed_spec, feed_state, state_values, synced_values
from monitor.storage.leases import lease_rows
from monitor.storage.models import ArticleRow, FeedRow
from monitor.types import FeedSpec, FeedState


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A row of `monitor feeds`."""

    spec: FeedSpec
    state: FeedState
    articles: int


def db_now(conn: Connection, now: datetime) -> datetime:
    """The database's clock on PostgreSQL (leases must not trust worker clocks)."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(select(func.now())).scalar_one()
        assert isinstance(value, datetime)
        return value
    return now


_SYNCED = select(
    FeedRow.id,
    FeedRow.name,
    FeedRow.url,
    FeedRow.language,
    FeedRow.interval_s,
    FeedRow.enabled,
    FeedRow.status,
    FeedRow.next_poll,
)
"""The columns :func:`sync_feeds` compares and uses."""


@translates_errors
def sync_feeds(engine: Engine, specs: Sequence[FeedSpec], now: datetime) -> None:
    """Make the feeds table follow the configuration; removed feeds are disabled."""
    wanted = {s.name: s for s in specs}
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Workers starting together would insert the same new feeds: one at a time.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7406352)")
        # Only what is compared (a row's eight timestamps, parsed for nothing, cost more
        # than the rest of a sync in which nothing changed).
        rows = {r.name: r for r in conn.execute(_SYNCED).all()}
        for name, spec in wanted.items():
            row = rows.get(name)
            values = synced_values(spec)
            if row is None:
                conn.execute(
                    insert(FeedRow).values(
                        name=name, next_poll=now, status="new", errors=0, **values
                    )
                )
                continue
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if "url" in changed:
                # A new URL is a new resource: old validators and backoff do not apply.
                changed.update(
                    etag=None,
                    last_modified=None,
                    content_hash=None,
                    errors=0,
                    status="new",
                    next_poll=now,
                    down_since=None,
                    last_error=None,
                    failing_since=None,
                    moved_to=None,
                    next_poll_reason=None,
                )
            elif "interval_s" in changed and row.status != "error":
                changed["next_poll"] = min(row.next_poll or now, now + spec.interval)
            if changed:
                conn.execute(update(FeedRow).where(FeedRow.id == row.id).values(**changed))
        for name, row in rows.items():
            if name not in wanted and row.enabled:
                conn.execute(update(FeedRow).where(FeedRow.id == row.id).values(enabled=False))


_spec = feed_spec
_state = feed_state


@translates_errors
def reset_feed(engine: Engine, name: str, now: datetime) -> bool:
    """`monitor feeds --reset`: forget a feed's errors (a gone feed included) and poll
    it at the next tick. False when no such feed is stored."""
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(FeedRow)
            .where(FeedRow.name == name)
            .values(
                status="new",
                errors=0,
                last_error=None,
                down_since=None,
                failing_since=None,
                next_poll=now,
                next_poll_reason=None,
            )
        )
    return bool(result.rowcount)


@translates_errors
def claim_feeds(
    engine: Engine,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    names: Sequence[str] | None = None,
    due_only: bool = True,
    exclude: Collection[str] = (),
    after: str | None = None,
) -> list[tuple[FeedSpec, FeedState]]:
    """Lease up to ``limit`` feeds to ``owner``: due ones, or the named ones.

    A feed leased to another live worker is skipped; an expired lease is taken over.
    The claim is committed before this returns, so the caller fetches outside any
    transaction; the lease ends at database time ``now() + lease`` on PostgreSQL.
    ``exclude`` names feeds not to claim (those this pass has polled already).
    ``after``: the feeds in name order, those named after it only (``""``: from the
    first): a pass that takes every feed once walks them so, and needs no list of
    those it took (a list of up to every feed's name, sent with every claim, made the
    claims of a pass grow with the square of the feeds).
    """
    table = FeedRow.__table__
    with write_transaction(engine) as conn:
        clock = db_now(conn, now)
        if names is None and not exclude:  # every claim of a pass: one statement, built once
            query = _claim_query(due_only, after is not None)
            params = {"c_clock": clock, "c_now": now, "c_after": after, "c_limit": limit}
            rows = lease_rows(conn, FeedRow, query, owner=owner, until=clock + lease, params=params)
            return [(_spec(r), _state(r)) for r in rows]
        conds: list[ColumnElement[bool]] = [
            FeedRow.enabled.is_(True),
            FeedRow.status != "gone",
            or_(FeedRow.lease_until.is_(None), FeedRow.lease_until < clock),
        ]
        if due_only:
            conds.append(or_(FeedRow.next_poll.is_(None), FeedRow.next_poll <= now))
        if names is not None:
            conds.append(FeedRow.name.in_(list(names)))
        if exclude:
            conds.append(FeedRow.name.not_in(list(exclude)))
        if after is not None:
            conds.append(FeedRow.name > after)
            order: tuple[ColumnElement[Any], ...] = (FeedRow.name.asc(),)
        else:
            order = (FeedRow.next_poll.asc().nulls_first(), FeedRow.id.asc())
        query = select(table).where(and_(*conds)).order_by(*order).limit(limit)
        rows = lease_rows(conn, FeedRow, query, owner=owner, until=clock + lease)
    return [(_spec(r), _state(r)) for r in rows]


@functools.cache
def _claim_query(due_only: bool, by_name: bool) -> Select[Any]:
    """What :func:`claim_feeds` asks when it is given neither names nor exclusions, with
    bound parameters (``c_clock``, ``c_now``, ``c_after``, ``c_limit``): the same query,
    built once instead of on every claim."""
    conds: list[ColumnElement[bool]] = [
        FeedRow.enabled.is_(True),
        FeedRow.status != "gone",
        or_(
            FeedRow.lease_until.is_(None),
            FeedRow.lease_until < bindparam("c_clock", type_=FeedRow.lease_until.type),
        ),
    ]
    if due_only:
        conds.append(
            or_(
                FeedRow.next_poll.is_(None),
                FeedRow.next_poll <= bindparam("c_now", type_=FeedRow.next_poll.type),
            )
        )
    if by_name:
        conds.append(FeedRow.name > bindparam("c_after", type_=FeedRow.name.type))
        order: tuple[ColumnElement[Any], ...] = (FeedRow.name.asc(),)
    else:
        order = (FeedRow.next_poll.asc().nulls_first(), FeedRow.id.asc())
    return (
        select(FeedRow.__table__)
        .where(and_(*conds))
        .order_by(*order)
        .limit(bindparam("c_limit", type_=Integer))
    )


@translates_errors
def release_feeds(engine: Engine, owner: str, names: Sequence[str] | None = None) -> None:
    """Give back leases (shutdown, or a feed abandoned before it was fetched)."""
    cond = FeedRow.lease_owner == owner
    if names is not None:
        cond = and_(cond, FeedRow.name.in_(list(names)))
    with write_transaction(engine) as conn:
        conn.execute(update(FeedRow).where(cond).values(lease_owner=None, lease_until=None))


@translates_errors
def renew_leases(
    engine: Engine, owner: str, names: Sequence[str], *, now: datetime, lease: timedelta
) -> set[str]:
    """Extend ``owner``'s leases of ``names`` to ``lease`` from now; the names it still
    holds. A feed another worker claimed after our lease ran out (while it waited for
    its host) is not renewed and not among them: that worker polls it.

    The UPDATE takes the row lock: a concurrent claim either sees the renewed lease or
    has already moved it (then ``lease_owner`` is no longer ours)."""
    wanted = list(names)
    with write_transaction(engine) as conn:
        clock = db_now(conn, now)
        ours = and_(FeedRow.lease_owner == owner, FeedRow.name.in_(wanted))
        conn.execute(update(FeedRow).where(ours).values(lease_until=clock + lease))
        return set(conn.execute(select(FeedRow.name).where(ours)).scalars())


@translates_errors
def leased_elsewhere(engine: Engine, owner: str, names: Sequence[str]) -> set[str]:
    """Which of ``names`` another worker than ``owner`` holds the lease of (a feed whose
    lease is free was given back: saved, or released)."""
    others = and_(
        FeedRow.name.in_(list(names)),
        FeedRow.lease_owner.is_not(None),
        FeedRow.lease_owner != owner,
    )
    with engine.connect() as conn:
        return set(conn.execute(select(FeedRow.name).where(others)).scalars())


def write_feed_state(conn: Connection, state: FeedState, *, owner: str | None) -> int | None:
    """Store a feed's poll state; its row id, or None when ``owner`` no longer holds
    the lease (nothing written).

    On PostgreSQL the lease must also still run in database time: a worker that
    stalled past it writes nothing, even before another worker has taken the feed.
    The UPDATE takes the row lock, so a concurrent claim either sees the new state
    or has already moved the lease, never both.
    """
    params = {"w_name": state.name, **state_values(state)}
    if owner is not None:
        params["w_owner"] = owner
    statement = _state_update(owner is not None, conn.dialect.name == "postgresql")
    row_id = conn.execute(statement, params).scalar()
    return int(row_id) if row_id is not None else None


_FEEDS = FeedRow.__table__


@functools.cache
def _state_update(leased: bool, db_clock: bool) -> Update:
    """The poll-state UPDATE, built once: it runs on every poll of every feed, and
    building a statement costs more than SQLite takes to run it. The SET clause comes
    from the parameters."""
    feeds = _FEEDS.c
    cond = feeds.name == bindparam("w_name")
    if leased:
        cond = and_(cond, feeds.lease_owner == bindparam("w_owner"))
        if db_clock:
            cond = and_(cond, feeds.lease_until > func.now())
    return update(_FEEDS).where(cond).returning(feeds.id)


@translates_errors
def list_feed_status(engine: Engine, *, include_disabled: bool = False) -> list[FeedStatus]:
    """Every feed with its state and how many articles are stored for it."""
    counts = (
        select(ArticleRow.feed_id, func.count().label("n")).group_by(ArticleRow.feed_id).subquery()
    )
    query = (
        select(FeedRow.__table__, func.coalesce(counts.c.n, 0).label("articles"))
        .outerjoin(counts, counts.c.feed_id == FeedRow.id)
        .order_by(FeedRow.name)
    )
    if not include_disabled:
        query = query.where(FeedRow.enabled.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [FeedStatus(spec=_spec(r), state=_state(r), articles=int(r.articles)) for r in rows]


_FAILING = select(func.count()).where(
    FeedRow.enabled.is_(True), FeedRow.status.in_(("error", "gone"))
)


_LAST_SUCCESS = select(func.max(FeedRow.last_success), func.count()).where(
    FeedRow.enabled.is_(True)
)


@translates_errors
def last_success_of_any(engine: Engine) -> tuple[datetime | None, int]:
    """The newest successful poll of any enabled feed, and how many feeds are enabled
    (whether the monitor sees anything at all; read every tick)."""
    with engine.connect() as conn:
        row = conn.execute(_LAST_SUCCESS).one()
    newest = row[0]
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return newest, int(row[1] or 0)


@translates_errors
def count_failing_feeds(engine: Engine) -> int:
    """Enabled feeds whose last poll failed or that are gone (the daemon's gauge, read
    every tick: one count over the feeds, not over their articles)."""
    with engine.connect() as conn:
        return int(conn.execute(_FAILING).scalar() or 0)


@translates_errors
def load_feed_state(engine: Engine, name: str) -> FeedState | None:
    with engine.connect() as conn:
        row = conn.execute(select(FeedRow.__table__).where(FeedRow.name == name)).first()
    return _state(row) if row is not None else None
