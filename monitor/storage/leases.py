"""Freeing the leases of workers that died on this host (SIGKILL, OOM, power cut).

A lease normally expires by itself (minutes); after a crash and a restart that is
minutes in which the feeds and deliveries the dead process held are neither polled
nor delivered. A lease owner is ``HOST:PID:NONCE`` (``monitor.app.worker_id``): when
HOST is this host and no process PID exists, its leases can go at once. Owners on
other hosts, owners in another form and live PIDs (even a reused one) are left to
expire: freeing a live worker's lease could send an alert twice.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import distinct, select, update
from sqlalchemy.engine import Engine

from monitor.storage.database import translates_errors
from monitor.storage.models import DeliveryRow, FeedRow


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
    with engine.begin() as conn:
        for table, pending in ((FeedRow, None), (DeliveryRow, DeliveryRow.status == "pending")):
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
