"""The direct path's statements (:mod:`monitor.storage.direct`) are storage's Core
statements as SQLAlchemy compiles them for SQLite, character for character: the two
paths cannot drift apart unnoticed."""

from __future__ import annotations

from sqlalchemy import and_, update
from sqlalchemy.dialects import sqlite

from monitor.storage import direct, feeds, leases
from monitor.storage.models import FeedRow

DIALECT = sqlite.dialect()


def _sql(statement: object, **kwargs: object) -> str:
    return str(statement.compile(dialect=DIALECT, **kwargs))  # type: ignore[attr-defined]


def test_the_claim_is_claim_feeds_pass_over_every_feed() -> None:
    compiled = feeds._claim_query(False, True).compile(dialect=DIALECT)
    assert str(compiled) == direct.CLAIM_BY_NAME
    # the direct path binds status, clock, after, limit, offset in this order
    assert list(compiled.positiontup or []) == [
        "status_1",
        "c_clock",
        "c_after",
        "c_limit",
        "param_1",
    ]


def test_the_lease_is_lease_rows_update() -> None:
    compiled = _sql(leases._lease_update(FeedRow.__table__))
    assert compiled.replace("__[POSTCOMPILE_l_ids]", "{ids}") == direct.LEASE


def test_the_state_write_is_write_feed_states_leased_update() -> None:
    keys = ["w_name", *direct.WRITE_STATE_COLUMNS, "w_owner"]
    compiled = feeds._state_update(True, False).compile(dialect=DIALECT, column_keys=keys)
    assert str(compiled) == direct.WRITE_STATE
    assert list(compiled.positiontup or []) == [*direct.WRITE_STATE_COLUMNS, "w_name", "w_owner"]


def test_the_releases_are_release_feeds() -> None:
    cleared = {"lease_owner": None, "lease_until": None}
    mine = FeedRow.lease_owner == "x"
    assert _sql(update(FeedRow).where(mine).values(**cleared)) == direct.RELEASE
    named = update(FeedRow).where(and_(mine, FeedRow.name.in_(["a"]))).values(**cleared)
    assert _sql(named).replace("__[POSTCOMPILE_name_1]", "{names}") == direct.RELEASE_NAMED


def test_the_sync_check_reads_what_sync_feeds_compares() -> None:
    assert _sql(feeds._SYNCED) == direct.SYNCED
