"""Database faults: the first migration killed at every statement, a database left
half-migrated by an older version, tables of another program.

Kills are real: a forked child process runs the migration and sends itself SIGKILL
just before its N-th SQL statement, for every N until the migration runs through.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from monitor import storage
from monitor.storage.migrate import head_revision, schema_revision
from monitor.storage.models import Base
from tests.conftest import run_monitor

pytestmark = pytest.mark.hostile


def _migrate_killed_at(url: str, statement: int) -> bool:
    """Run the first migration in a child killed before its ``statement``-th SQL
    statement; True when it was killed (False: it finished first)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            engine = storage.create_database_engine(url)
            seen = 0

            @event.listens_for(engine, "before_cursor_execute")
            def _count(*_: Any) -> None:
                nonlocal seen
                seen += 1
                if seen == statement:
                    os.kill(os.getpid(), signal.SIGKILL)

            from monitor.storage.migrate import upgrade

            upgrade(engine)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.slow
def test_first_migration_killed_at_every_statement_never_bricks_the_database(
    tmp_path: Path,
) -> None:
    kill_points = 0
    for statement in range(1, 200):
        path = tmp_path / f"kill{statement}.db"
        url = f"sqlite:///{path}"
        if not _migrate_killed_at(url, statement):
            break
        kill_points += 1
        # The next start (every command migrates on start) must just work.
        engine = storage.open_database(url)
        try:
            assert schema_revision(engine) == head_revision()
        finally:
            engine.dispose()
        assert {t.name for t in Base.metadata.sorted_tables} <= _tables(path)
    assert kill_points >= 10, kill_points  # the migration really was cut at many points


def _half_migrated(path: Path, rows: bool) -> str:
    """What an older `monitor` killed mid-migration left: some tables, no revision."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE channel_state (channel VARCHAR(200) NOT NULL PRIMARY KEY, "
            "disabled_at DATETIME, reason TEXT)"
        )
        if rows:
            conn.execute("INSERT INTO channel_state VALUES ('webhook', NULL, 'x')")
    return f"sqlite:///{path}"


def test_db_upgrade_repairs_a_half_migrated_database(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    _half_migrated(tmp_path / "monitor.db", rows=False)
    config = write_config()
    done = run_monitor("db", "upgrade", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert f"schema {head_revision()}" in done.stdout
    assert "Traceback" not in done.stderr


def test_db_upgrade_never_drops_tables_holding_rows_and_says_what_to_do(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    path = tmp_path / "monitor.db"
    _half_migrated(path, rows=True)
    config = write_config()
    done = run_monitor("db", "upgrade", "-c", str(config))
    assert done.returncode == 1
    assert "channel_state" in done.stderr and "new file" in done.stderr
    assert "Traceback" not in done.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM channel_state").fetchone() == (1,)
