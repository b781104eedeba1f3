"""Freeing the leases of workers that died on this host (SIGKILL, OOM, power cut).

A lease normally expires by itself (minutes); after a crash and a restart that is
minutes in which the feeds and deliveries the dead process held are neither polled
nor delivered. A lease owner is ``HOST:PID:NONCE`` (``monitor.service.app.worker_id``): when
HOST is this host and no process PID exists, its leases can go at once. Owners on
other hosts, owners in another form and live PIDs (even a reused one) are left to
expire: freeing a live worker's lease could send an alert twice.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, distinct, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.dml import Update

from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import BatchRow, DeliveryRow, FeedRow


def lease_rows(
    conn: Connection,
    model: type[FeedRow] | type[DeliveryRow] | type[BatchRow],
    query: Select[Any],
    *,
    owner: str,
    until: datetime,
    params: Mapping[str, Any] | None = None,
) -> Sequence[Row[Any]]:
    """Run ``query`` (which selects ``id``; with ``params`` for its bound parameters) and
    lease its rows to ``owner`` until ``until``.

    On PostgreSQL the rows are locked and rows another worker is claiming right now are
    skipped (``FOR UPDATE SKIP LOCKED``): two workers never claim the same row. The
    caller commits the claim before it does the work.
    """
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query, params).all()
    if rows:
        leased = {"l_ids": [r.id for r in rows], "l_owner": owner, "l_until": until}
        conn.execute(_lease_update(model.__table__), leased)
    return rows


@functools.cache
def _lease_update(table: Table) -> Update:
    """The UPDATE that leases rows by id, built once per table (a pass claims many times)."""
    return (
        update(table)
        .where(table.c.id.in_(bindparam("l_ids", expanding=True)))
        .values(
            lease_owner=bindparam("l_owner", type_=table.c.lease_owner.type),
            lease_until=bindparam("l_until", type_=table.c.lease_until.type),
        )
    )


def failed_attempt(
    model: type[DeliveryRow] | type[BatchRow], error: str, next_attempt: datetime | None
) -> dict[str, object]:
    """The values of a leased outbox row (a delivery or a digest) after a failed attempt:
    its lease given back, the error kept, retried at ``next_attempt`` or dead (None)."""
    values: dict[str, object] = {
        "attempts": model.attempts + 1,
        "last_error": error[:2000],
        "lease_owner": None,
        "lease_until": None,
    }
    if next_attempt is None:
        values["status"] = "dead"
    else:
        values["next_attempt"] = next_attempt
    return values


def dead_owner(owner: str, host: str) -> bool:
    """Whether ``owner`` names a process of ``host`` that no longer exists here."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


@translates_errors
def release_dead_leases(engine: Engine, now: datetime, *, host: str | None = None) -> int:
    """Clear unexpired leases of dead local workers; returns how many rows were freed."""
    host = host if host is not None else socket.gethostname()[:40]
    freed = 0
    with write_transaction(engine) as conn:
        tables: tuple[tuple[type[FeedRow] | type[DeliveryRow] | type[BatchRow], Any], ...] = (
            (FeedRow, None),
            (DeliveryRow, DeliveryRow.status == "pending"),
            (BatchRow, BatchRow.status == "pending"),
        )
        for table, pending in tables:
            query = select(distinct(table.lease_owner)).where(
                table.lease_owner.is_not(None), table.lease_until > now
            )
            if pending is not None:
                query = query.where(pending)
            dead = [o for o in conn.execute(query).scalars() if o and dead_owner(o, host)]
            if dead:
                freed += conn.execute(
                    update(table)
                    .where(table.lease_owner.in_(dead))
                    .values(lease_owner=None, lease_until=None)
                ).rowcount
    return freed
