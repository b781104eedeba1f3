"""One `monitor poll` pass over two processes: a forked child polls half of the hosts.

An unchanged pass is GIL-bound (HTTP parsing, the state writes through SQLAlchemy, the
log lines: ~1.3 ms of CPU a feed, with nothing to wait on), so one process keeps one
core busy however many threads it has. After the start-up (imports, configuration,
database, app: all made once, shared by the fork), a child takes the feeds of half of
the hosts and runs the same pass on them with half of the threads and half of the
parser processes; the parent polls the other hosts and then collects the child's
outcomes. Everything a pass promises holds in each process: a host's feeds all go to
one of them (the per-host limit of fetches in flight is one process's), each claims
its feeds with a lease of its own, and the database serializes the writes (SQLite: one
writer at a time, WAL readers beside it; PostgreSQL: as for several daemons).

Used only where it pays and is safe: ``fork`` exists, two CPUs are ours, no thread is
running yet (a fork copies locks, not the threads holding them), the database is a file
or a server (not SQLite in memory), at least two hosts and :data:`MIN_FEEDS` feeds, at
least two polling threads. The daemon does not split: it polls due feeds a few at a
time, where the start-up this shares is paid once.
"""

from __future__ import annotations

import os
import pickle
import threading
import traceback
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor import storage
from monitor.errors import MonitorError, StorageError
from monitor.log import get_logger

if TYPE_CHECKING:
    from monitor.pipeline import FeedOutcome
    from monitor.service.app import App
    from monitor.types import FeedSpec

log = get_logger("monitor.service.split")

MIN_FEEDS = 64
"""Fewer feeds than this are polled in one process: the fork and the child's own
claims and connections cost about what polling ~20 feeds does."""


def split_hosts(specs: Sequence[FeedSpec]) -> tuple[list[str], list[str]]:
    """The feeds' names in two lists, every host's feeds in one of them, the lists'
    lengths as even as whole hosts allow (largest host first, to the shorter list)."""
    hosts: dict[str, list[str]] = {}
    for spec in specs:
        parts = urlsplit(spec.url)
        hosts.setdefault(f"{parts.hostname}:{parts.port}", []).append(spec.name)
    halves: tuple[list[str], list[str]] = ([], [])
    for names in sorted(hosts.values(), key=len, reverse=True):
        min(halves, key=len).extend(names)
    return halves


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def poll_split(app: App, specs: Sequence[FeedSpec]) -> list[FeedOutcome] | None:
    """Poll ``specs`` (the pass's feeds) in this process and a forked child, or return
    None when splitting does not pay or is not safe (the caller polls as usual)."""
    database = app.engine.url.database or ""
    if (
        not hasattr(os, "fork")
        or _cpus() < 2
        or threading.active_count() > 1
        or len(specs) < MIN_FEEDS
        or app.config.workers < 2
        or (app.engine.dialect.name == "sqlite" and database in ("", ":memory:"))
        or "mode=memory" in database
    ):
        return None
    mine, theirs = split_hosts(specs)
    if not mine or not theirs:
        return None
    workers = app.config.workers // 2
    app.parser.share(2)
    tag = os.urandom(4).hex()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's stack
        os.close(read_end)
        _child(app, theirs, app.config.workers - workers, tag, write_end)
    os.close(write_end)
    child_owner = _owner(app.owner, pid, tag)
    try:
        outcomes = app.poll(names=mine, workers=workers)
    finally:
        result = _collect(read_end, pid)
    if result is None:
        storage.release_feeds(app.engine, child_owner)
        raise MonitorError("the second polling process ended without a result: see the log")
    kind, value = result
    if kind == "storage":
        raise StorageError(str(value))
    if kind != "ok":
        raise MonitorError(f"the second polling process failed: {value}")
    assert isinstance(value, list)
    return outcomes + value


def _owner(owner: str, pid: int, tag: str) -> str:
    """The child's lease owner: the parent's with the child's pid and a tag of its own
    (the parent knows it too, to give back the child's leases if it dies)."""
    return f"{owner.rsplit(':', 2)[0]}:{pid}:{tag}"


def _child(app: App, names: list[str], workers: int, tag: str, out: int) -> None:
    code = 0
    try:
        app.engine.dispose(close=False)  # the parent's pooled connections stay its own
        app.owner = _owner(app.owner, os.getpid(), tag)
        pipeline = replace(app.pipeline, owner=app.owner)
        try:
            outcomes = app.poll(names=names, workers=workers, pipeline=pipeline)
            message: tuple[str, object] = ("ok", outcomes)
        except StorageError as exc:
            message = ("storage", str(exc))
        except BaseException as exc:
            log.error("poll_failed", error=repr(exc)[:300], traceback=traceback.format_exc())
            message = ("crash", repr(exc)[:300])
        app.close()
        data = pickle.dumps(message)
        with os.fdopen(out, "wb") as stream:
            stream.write(data)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _collect(read_end: int, pid: int) -> tuple[str, object] | None:
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    _, status = os.waitpid(pid, 0)
    if not data or os.waitstatus_to_exitcode(status) != 0:
        return None
    result = pickle.loads(data)
    assert isinstance(result, tuple)
    return result
