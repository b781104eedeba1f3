"""The suite's own scheduling under ``pytest -n``: which tests hold the PostgreSQL lock.

A PostgreSQL test that did not hold it could run while another worker restarts the
server, and fail for no fault of the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.scheduling import server_lock_path, uses_postgres


class _Item:
    """Just what :func:`uses_postgres` reads of a collected test."""

    def __init__(
        self, fixtures: tuple[str, ...] = (), params: dict[str, Any] | None = None
    ) -> None:
        self.fixturenames = fixtures
        if params is not None:
            self.callspec = type("CallSpec", (), {"params": params})()

    def get_closest_marker(self, name: str) -> None:
        return None


def test_a_test_is_on_postgresql_by_its_fixture_or_its_database_parameter() -> None:
    assert uses_postgres(_Item(fixtures=("tmp_path", "pg_url")))  # type: ignore[arg-type]
    assert uses_postgres(_Item(fixtures=("pg_database",)))  # type: ignore[arg-type]
    # The database fixtures that ask for the server only in their postgresql case:
    assert uses_postgres(_Item(params={"engine": "postgresql"}))  # type: ignore[arg-type]
    assert uses_postgres(_Item(params={"database_url": "postgresql"}))  # type: ignore[arg-type]
    assert not uses_postgres(_Item(params={"engine": "sqlite"}))  # type: ignore[arg-type]
    assert not uses_postgres(_Item(fixtures=("tmp_path", "httpserver")))  # type: ignore[arg-type]


def _held_here(url: str) -> bool:
    """Whether this process holds a lock on the server's lock file (/proc/locks)."""
    try:
        inode = server_lock_path(url).stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  READ  1234 08:01:56789 0 EOF": pid, then device:inode
        if (
            fields[1] == "FLOCK"
            and fields[4] == str(os.getpid())
            and int(fields[5].rsplit(":", 1)[1]) == inode
        ):
            return True
    return False


@pytest.mark.postgres
def test_a_postgresql_test_holds_the_server_so_no_restart_can_cut_it(pg_url: str) -> None:
    assert _held_here(pg_url)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_database_parameter_holds_the_server_only_in_its_postgresql_case(
    database: str,
) -> None:
    url = os.environ.get("MONITOR_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MONITOR_TEST_POSTGRES_URL is not set")
    assert _held_here(url) == (database == "postgresql")
