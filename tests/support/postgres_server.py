"""pytest helpers for tests that need a real PostgreSQL server on loopback.

The server comes from ``.ci/postgres.sh`` (Debian packages, a cluster on 127.0.0.1):

    export MONITOR_TEST_POSTGRES_URL=$(bash .ci/postgres.sh | tail -1)

Use the fixtures by listing this module in ``tests/conftest.py``
(``pytest_plugins = ["tests.support.postgres_server"]``) or importing them into a test module:

* ``pg_url``: the server's SQLAlchemy URL; skips (with the reason) when none is
  configured or reachable.
* ``pg_database``: the URL of a fresh, empty database made for one test and dropped
  after it, so tests never share state.

and the functions ``restart_postgres()`` (what "the database restarts mid-run" tests
call) and ``terminate_connections(url)`` (``pg_terminate_backend`` on a database).
Only loopback servers are accepted: the suite never talks to another machine.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

ENV_URL = "MONITOR_TEST_POSTGRES_URL"
ENV_RESTART = "MONITOR_TEST_POSTGRES_RESTART"
SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "postgres.sh"
RESTART_COMMAND = f"bash {SCRIPT} restart"
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}

__all__ = [
    "ENV_URL",
    "RESTART_COMMAND",
    "conninfo",
    "fresh_database",
    "pg_database",
    "pg_url",
    "postgres_url",
    "restart_postgres",
    "terminate_connections",
    "unavailable_reason",
]


def postgres_url() -> str | None:
    """``$MONITOR_TEST_POSTGRES_URL`` (an SQLAlchemy URL), or None when unset."""
    return os.environ.get(ENV_URL) or None


def conninfo(url: str) -> str:
    """An SQLAlchemy ``postgresql+psycopg://`` URL → a libpq URI for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@cache
def unavailable_reason(url: str | None) -> str | None:
    """Why no test can use the server at ``url`` (None: it is usable). Cached."""
    if url is None:
        return (
            f"{ENV_URL} is not set; start a server with "
            f"`export {ENV_URL}=$(bash .ci/postgres.sh | tail -1)` (as root)"
        )
    try:
        parsed = make_url(url)
    except Exception as exc:
        return f"{ENV_URL} is not an SQLAlchemy URL: {exc}"
    if not parsed.drivername.startswith("postgresql"):
        return f"{ENV_URL} is not a PostgreSQL URL"
    if parsed.host is not None and parsed.host not in _LOOPBACK:
        return f"{ENV_URL} points at {parsed.host}; tests only use servers on loopback"
    try:
        with psycopg.connect(conninfo(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {parsed.host}:{parsed.port} is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test server's SQLAlchemy URL; skips the test when there is no usable server."""
    url = postgres_url()
    reason = unavailable_reason(url)
    if reason is not None or url is None:
        pytest.skip(reason or "no PostgreSQL server")
    return url


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """Create an empty database on ``url``'s server, yield its URL, drop it after.

    The role in ``url`` needs CREATEDB (``.ci/postgres.sh`` grants it).
    """
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(url), autocommit=True, connect_timeout=10) as admin:
        # FILE_COPY: a plain copy of the tiny template beats WAL-logging it block by block.
        admin.execute(sql.SQL("CREATE DATABASE {} STRATEGY FILE_COPY").format(sql.Identifier(name)))
    try:
        yield _with_database(url, name)
    finally:
        _drop_database(url, name)


def _drop_database(url: str, name: str) -> None:
    # The server may be down or restarting (a test that restarted it): try for a while.
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(conninfo(url), autocommit=True, connect_timeout=5) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            return
        except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege):
            # InsufficientPrivilege: FORCE met a process of another role on the database
            # (an autovacuum worker) and the role may not end it; it ends by itself.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database for this test only."""
    with fresh_database(pg_url) as url:
        yield url


def restart_postgres(timeout: float = 60.0) -> None:
    """Restart the test server and wait until it accepts connections again.

    Runs ``$MONITOR_TEST_POSTGRES_RESTART`` when set (a shell command), else
    ``bash .ci/postgres.sh restart`` (needs root). Every open connection is cut.
    """
    command = os.environ.get(ENV_RESTART) or RESTART_COMMAND
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed ({done.returncode}): {done.stderr.strip()}")
    url = postgres_url()
    if url is None:
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(conninfo(url), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def terminate_connections(url: str) -> int:
    """``pg_terminate_backend`` every other session on ``url``'s database; how many."""
    database = make_url(url).database
    with psycopg.connect(conninfo(url), autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)
