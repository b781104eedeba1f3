"""Storage fixtures: every storage test runs on SQLite and on PostgreSQL.

``engine`` is a migrated, empty database: a SQLite file in ``tmp_path``, or a fresh
PostgreSQL database made for the test and dropped after it (skipped, with the
reason, when ``MONITOR_TEST_POSTGRES_URL`` names no usable server).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from monitor import storage
from monitor.storage.models import DeliveryRow, FeedRow
from tests.support.postgres_server import fresh_database, pg_url

__all__ = ["engine", "expire_leases", "pg_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    server = request.getfixturevalue("pg_url")
    with fresh_database(server) as url:
        eng = storage.open_database(url)
        yield eng
        eng.dispose()


def expire_leases(engine: Engine) -> None:
    """Let every lease run out (PostgreSQL leases follow its clock, which tests
    cannot move: the lease end is moved instead)."""
    with engine.begin() as conn:
        for table in (FeedRow, DeliveryRow):
            conn.execute(
                update(table).where(table.lease_until.is_not(None)).values(lease_until=_PAST)
            )


_PAST = datetime(2000, 1, 1, tzinfo=UTC)
