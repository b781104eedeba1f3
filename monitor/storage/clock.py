"""Moving the stored schedule when the wall clock steps back.

Next polls, next delivery attempts and leases are wall-clock times in the database.
After the clock steps back an hour they all lie an hour further ahead than meant, and
nothing would be polled or delivered for that hour. :func:`shift_schedule` moves every
such time that is still ahead by the size of the step, so each keeps its distance from
now. A step forward needs nothing: what was planned is simply due.

It does not notice steps (the daemon compares the wall clock with the monotonic one).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine

from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import DeliveryRow, FeedRow


@translates_errors
def shift_schedule(engine: Engine, by: timedelta, now: datetime) -> int:
    """Add ``by`` (negative: a step back) to every stored time ahead of ``now``;
    returns how many were moved."""
    moved = 0
    with write_transaction(engine) as conn:
        tables: tuple[tuple[Table, tuple[str, ...]], ...] = (
            (FeedRow.__table__, ("next_poll", "lease_until")),
            (DeliveryRow.__table__, ("next_attempt", "lease_until")),
        )
        for table, columns in tables:
            for name in columns:
                column = table.c[name]
                rows = conn.execute(select(table.c.id, column).where(column > now)).all()
                for row_id, when in rows:
                    conn.execute(
                        update(table).where(table.c.id == row_id).values({name: when + by})
                    )
                moved += len(rows)
    return moved
