"""The SQLite file a daemon runs on: one daemon per file (a lock beside it), and the
file's identity (device and inode), by which a file deleted or replaced under the
daemon is noticed. Other databases have neither."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from monitor.errors import MonitorError


class AlreadyRunningError(MonitorError):
    """Another `monitor run` holds this SQLite database."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite ``url``, resolved (None for other databases and memory)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database).expanduser().resolve()


def lock_database(url: str) -> IO[str] | None:
    """One daemon per SQLite file: an exclusive lock beside it (None elsewhere)."""
    path = sqlite_path(url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path.with_name(path.name + ".lock"), "a+")  # noqa: SIM115 - held for life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyRunningError(
            f"another `monitor run` ({holder}) is already using {path}; SQLite takes one "
            "worker (use PostgreSQL for several)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def database_file(url: str) -> tuple[Path, int, int] | None:
    """The SQLite file of ``url`` with its device and inode (None for other databases)."""
    path = sqlite_path(url)
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return path, st.st_dev, st.st_ino
