"""Which tests may run side by side when the suite runs on several workers (pytest-xdist).

CI runs the suite as ``pytest -n auto`` (one worker per core; pyproject's addopts hand the
tests out one at a time, ``--maxschedchunk 1``). Almost every test owns what it touches:
``tmp_path`` (a base folder per worker), servers bound to port 0 of 127.0.0.1, a fresh
PostgreSQL database of its own. The one thing shared is the PostgreSQL server itself:
the tests marked ``restarts_postgres`` restart it, which cuts every connection of every
test using it at that moment. So every test that uses PostgreSQL holds a shared lock on
a file named for the server while it runs, and a test that restarts it holds that lock
alone (``flock``: it waits for the others to finish and they wait for it). The lock
works across processes, so it also holds between two pytest runs on one machine.

(xdist's own ``xdist_group`` cannot do this: pytest 9.2 no longer lets xdist 3.8 tag
the node ids its groups are read from, and a group would tie every PostgreSQL test to
one worker.)

Under xdist the slow tests (the budgeted soaks, the kill loops) are handed out first:
a three-minute soak that started last would leave one worker running alone at the end.
Run without ``-n``, the order stays the order of the files.

This module decides the order and holds the lock; it starts nothing.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

_POSTGRES_FIXTURES = frozenset({"pg_url", "pg_database"})
RESTART_MARK = "restarts_postgres"
"""The marker of a test that restarts the PostgreSQL server (it runs alone among them)."""


def uses_postgres(item: pytest.Item) -> bool:
    """Whether ``item`` talks to the PostgreSQL server: it is marked ``postgres``, asks
    for a PostgreSQL fixture, or is the ``postgresql`` case of a database parameter
    (which asks for ``pg_url`` or ``pg_database`` only when it runs)."""
    if item.get_closest_marker("postgres") is not None:
        return True
    if _POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(value == "postgresql" for value in callspec.params.values())


def server_lock_path(url: str) -> Path:
    """The lock file of the PostgreSQL server at ``url`` (one per host and port)."""
    parsed = make_url(url)
    return Path(tempfile.gettempdir()) / f"monitor-tests-postgres-{parsed.port or 5432}.lock"


def under_xdist(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (the controller collects nothing)."""
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{RESTART_MARK}: the test restarts the PostgreSQL server; no other test uses "
        "the server meanwhile",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if under_xdist(config):
        # Stable: the order within the slow and within the rest stays the files' order.
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def postgres_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """Shared use of the PostgreSQL server for the test, or sole use when it restarts
    it (autouse, so taken before the test's own fixtures make their databases)."""
    url = os.environ.get("MONITOR_TEST_POSTGRES_URL")
    if not url or not uses_postgres(request.node):
        yield
        return
    alone = request.node.get_closest_marker(RESTART_MARK) is not None
    with open(server_lock_path(url), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
