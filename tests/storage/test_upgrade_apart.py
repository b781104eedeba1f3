"""The daemon migrates in a child process, so Alembic never stays in its memory.

`monitor run` brings the schema up with :func:`storage.upgrade_apart` before it opens the
database: a migration (a first start, a start after an upgrade) runs in a child that logs
to the same stderr, and the daemon itself imports neither Alembic nor the migration
scripts (~13 MiB for as long as it runs). A migration that fails is the child's message.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from monitor import storage
from monitor.errors import StorageError
from monitor.storage.revision import head_revision
from tests.conftest import REPO

_PROBE = """
import json, sys
from monitor import storage
from monitor.log import configure_logging
configure_logging(fmt="json")
storage.upgrade_apart(sys.argv[1])
print(json.dumps({"alembic": "alembic" in sys.modules}))
"""


def _probe(url: str) -> tuple[dict[str, bool], str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_a_new_database_is_migrated_by_a_child_and_alembic_stays_out(tmp_path):
    path = tmp_path / "new.db"
    found, stderr = _probe(f"sqlite:///{path}")
    assert found == {"alembic": False}
    [(revision,)] = sqlite3.connect(path).execute("SELECT version_num FROM alembic_version")
    assert revision == head_revision()
    # the child's migration lines reach the same stderr, in the same format
    lines = [json.loads(line) for line in stderr.splitlines()]
    assert any(li["event"].startswith("Running upgrade") for li in lines)
    found, stderr = _probe(f"sqlite:///{path}")  # current: one query, no child
    assert found == {"alembic": False} and "Running upgrade" not in stderr


def test_a_migration_that_fails_is_a_storage_error_with_the_childs_reason(tmp_path):
    path = tmp_path / "foreign.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE feeds (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO feeds (name) VALUES ('kept')")
    db.commit()
    with pytest.raises(StorageError, match="no schema revision"):
        storage.upgrade_apart(f"sqlite:///{path}")
    assert db.execute("SELECT name FROM feeds").fetchall() == [("kept",)]
