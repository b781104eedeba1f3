"""``.ci/postgres.sh`` and the helpers of tests/support/postgres_server.py, against the real server.

Every test but the shell check needs ``MONITOR_TEST_POSTGRES_URL`` (skipped otherwise);
restarting the server needs root or ``MONITOR_TEST_POSTGRES_RESTART``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres_server import (
    conninfo,
    fresh_database,
    pg_database,  # noqa: F401  (a fixture)
    pg_url,  # noqa: F401  (a fixture)
    restart_postgres,
    terminate_connections,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_postgres_server_is_usable(pg_url: str) -> None:  # noqa: F811
    with psycopg.connect(conninfo(pg_url)) as conn:
        version = conn.info.server_version
        host = conn.info.host
        fsync = conn.execute("SHOW fsync").fetchone()
        max_connections = conn.execute("SHOW max_connections").fetchone()
    assert version >= 150000
    assert host in {"127.0.0.1", "::1", "localhost"}
    assert fsync == ("off",)
    assert max_connections is not None
    assert int(max_connections[0]) >= 200


@pytest.mark.postgres
def test_fresh_databases_do_not_share_state(pg_url: str) -> None:  # noqa: F811
    with fresh_database(pg_url) as first, fresh_database(pg_url) as second:
        assert first != second
        with psycopg.connect(conninfo(first), autocommit=True) as conn:
            conn.execute("CREATE TABLE leftover (id int)")
        with psycopg.connect(conninfo(second)) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)
        name = first.rsplit("/", 1)[1]
    with psycopg.connect(conninfo(pg_url)) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert left is None


@pytest.mark.postgres
def test_pg_database_fixture_gives_an_empty_database_of_its_own(
    pg_url: str,  # noqa: F811
    pg_database: str,  # noqa: F811
) -> None:
    assert pg_database.startswith("postgresql+psycopg://")
    assert pg_database.rsplit("/", 1)[1] != pg_url.rsplit("/", 1)[1]
    with psycopg.connect(conninfo(pg_database)) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone() == (0,)


@pytest.mark.postgres
def test_terminate_connections_cuts_sessions(pg_url: str) -> None:  # noqa: F811
    with fresh_database(pg_url) as url, psycopg.connect(conninfo(url)) as victim:
        assert terminate_connections(url) == 1
        with pytest.raises(psycopg.OperationalError):
            victim.execute("SELECT 1")


def can_restart() -> str | None:
    if os.environ.get("MONITOR_TEST_POSTGRES_RESTART"):
        return None
    if os.geteuid() != 0:
        return "restarting the test server needs root (or MONITOR_TEST_POSTGRES_RESTART)"
    if shutil.which("pg_ctlcluster") is None:
        return "no pg_ctlcluster: the server was not started by .ci/postgres.sh"
    return None


@pytest.mark.postgres
@pytest.mark.restarts_postgres
def test_restart_cuts_connections_and_comes_back(pg_url: str) -> None:  # noqa: F811
    reason = can_restart()
    if reason:
        pytest.skip(reason)
    with psycopg.connect(conninfo(pg_url)) as before:
        started = before.execute("SELECT pg_postmaster_start_time()").fetchone()
        restart_postgres()
        with pytest.raises(psycopg.OperationalError):
            before.execute("SELECT 1")
    with psycopg.connect(conninfo(pg_url)) as after:
        assert after.execute("SELECT pg_postmaster_start_time()").fetchone() != started


@pytest.mark.postgres
@pytest.mark.restarts_postgres
def test_postgres_script_is_idempotent(pg_url: str) -> None:  # noqa: F811
    reason = can_restart()
    if reason:
        pytest.skip(reason)
    script = ROOT / ".ci" / "postgres.sh"
    outputs = [
        subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, timeout=120, check=True
        ).stdout.splitlines()
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1], "a second run must reuse the cluster"
    url = outputs[1][-1]
    assert url.startswith("postgresql+psycopg://monitor:monitor@127.0.0.1:")
    with psycopg.connect(conninfo(url)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("monitor",)


def test_postgres_script_is_valid_shell() -> None:
    script = ROOT / ".ci" / "postgres.sh"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    done = subprocess.run(
        [shellcheck, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout
