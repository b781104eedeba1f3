"""The database of a poll: an unchanged pass's statements direct on SQLite, everything
else on the SQLAlchemy engine, which takes over for good the first time it is needed.

A `monitor poll` whose feeds all answer 304 or the same bytes reads the configuration's
feeds, claims them, writes each one's state and gives the leases back: all of it
:mod:`monitor.storage.direct`'s statements, which need neither SQLAlchemy's import nor
its per-statement machinery. The first thing they do not cover (a feed that changed,
an operator alert, the sync or the outbox with work to do, a claim of the named or the
due feeds, any other storage call through :attr:`Database.engine`) opens the engine on
the same file: from then on every statement goes through it, with the same lease owner,
and what was fetched already is stored from there (nothing is fetched twice).

PostgreSQL, a new or older SQLite file, an unusual URL, and the daemon use the engine
from the start: then every method here is the storage function of the same name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.errors import StorageError
from monitor.storage.direct import DirectStore, open_direct
from monitor.types import FeedSpec, FeedState, FeedUpdate, SaveResult

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.alerts.policy import AlertPolicy

FULL_PATH_ENV = "MONITOR_TEST_NO_DIRECT_SQLITE"
"""Set (to anything) in the environment: never the direct path (tests compare the two)."""


class Database:
    """One process's database: :class:`~monitor.storage.direct.DirectStore` while it
    suffices, the engine after (see the module)."""

    def __init__(
        self, url: str, *, engine: Engine | None = None, direct: DirectStore | None = None
    ) -> None:
        self.url = url
        self._engine = engine
        self._direct = direct if engine is None else None
        self._opened = direct
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> Database:
        """An engine already open (tests, the daemon): no direct path."""
        return cls(engine.url.render_as_string(hide_password=False), engine=engine)

    @classmethod
    def open(cls, url: str, *, direct: bool = False) -> Database:
        """The database at ``url``; with ``direct``, on :mod:`~monitor.storage.direct`
        while it can be (a current SQLite file), else the engine, migrated if need be."""
        store = open_direct(url) if direct and not os.environ.get(FULL_PATH_ENV) else None
        if store is not None:
            return cls(url, direct=store)
        from monitor.storage.database import open_database

        return cls(url, engine=open_database(url))

    @property
    def direct(self) -> DirectStore | None:
        """The direct store while nothing else was needed; None from the hand-over on."""
        return self._direct

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, opened (and the direct path ended) at the first ask."""
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                from monitor.storage.database import open_database, share_write_lock

                lost = self._opened.file_lost() if self._opened is not None else None
                if lost is not None:
                    # The engine would open (or create and migrate) whatever is at the
                    # path now: the polls stored so far went with the unlinked file.
                    raise StorageError(
                        f"the database file is no longer at its path: {lost}; what this "
                        "poll stored went with it"
                    )
                engine = open_database(self.url)
                if self._opened is not None:
                    # A poll thread may be in a direct statement still: one writer at
                    # a time, as on the engine alone.
                    share_write_lock(engine, self._opened.lock)
                self._engine = engine
                self._direct = None
            return self._engine

    @property
    def engine_open(self) -> bool:
        return self._engine is not None

    def sync_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        direct = self._direct
        if direct is not None and direct.feeds_in_sync(specs):
            return
        from monitor.storage.feeds import sync_feeds

        sync_feeds(self.engine, specs, now)

    def claim_feeds(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        names: Sequence[str] | None = None,
        due_only: bool = True,
        exclude: Sequence[str] | set[str] = (),
        after: str | None = None,
    ) -> list[tuple[FeedSpec, FeedState]]:
        direct = self._direct
        if (
            direct is not None
            and names is None
            and not due_only
            and not exclude
            and after is not None
        ):
            return direct.claim_by_name(owner=owner, now=now, lease=lease, limit=limit, after=after)
        from monitor.storage.feeds import claim_feeds

        return claim_feeds(
            self.engine,
            owner=owner,
            now=now,
            lease=lease,
            limit=limit,
            names=names,
            due_only=due_only,
            exclude=exclude,
            after=after,
        )

    def save_feed_update(
        self, update: FeedUpdate, policy: AlertPolicy, now: datetime
    ) -> SaveResult:
        direct = self._direct
        if (
            direct is not None
            and not update.articles
            and not update.operator_alerts
            and update.lease_owner is not None
        ):
            return SaveResult(saved=direct.write_state(update.state, update.lease_owner))
        from monitor.storage.articles import save_feed_update

        return save_feed_update(self.engine, update, policy, now)

    def release_feeds(self, owner: str, names: Sequence[str] | None = None) -> None:
        direct = self._direct
        if direct is not None:
            direct.release_feeds(owner, names)
            return
        from monitor.storage.feeds import release_feeds

        release_feeds(self.engine, owner, names)

    def renew_leases(
        self, owner: str, names: Sequence[str], *, now: datetime, lease: timedelta
    ) -> set[str]:
        from monitor.storage.feeds import renew_leases

        return renew_leases(self.engine, owner, names, now=now, lease=lease)

    def leased_elsewhere(self, owner: str, names: Sequence[str]) -> set[str]:
        from monitor.storage.feeds import leased_elsewhere

        return leased_elsewhere(self.engine, owner, names)

    def outbox_quiet(self, now: datetime) -> bool:
        """Whether a delivery round is sure to find nothing to do (on the direct path
        only: the engine's round finds out by itself)."""
        direct = self._direct
        return direct is not None and direct.outbox_quiet(now)

    def release_deliveries(self, owner: str) -> None:
        """Give back ``owner``'s delivery leases: none to give before the engine opened
        (only the engine's delivery rounds claim)."""
        if self._engine is None:
            return
        from monitor.storage.outbox import release_deliveries

        release_deliveries(self._engine, owner)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
        if self._engine is not None:
            self._engine.dispose()


def as_database(source: Engine | Database) -> Database:
    """``source`` itself, or an engine as a :class:`Database` of its own."""
    return source if isinstance(source, Database) else Database.of(source)
