"""Group commit: the writes of several polling threads in one SQLite transaction.

SQLite has one writer at a time, and a poll's write is small (a feed's state, a few
articles): committing each in a transaction of its own, in turn, made the commits
(and the B-tree pages every feed touches, written to the WAL again by every commit)
the polling process's bottleneck. Here a thread that wants to write while another is
writing leaves its work in a queue; the thread that writes (the leader) takes every
piece of work waiting, up to :data:`MAX_GROUP`, and writes them in one transaction,
each under a SAVEPOINT of its own, then commits once and hands each thread its own
result. So:

* one piece of work failing (a bug, data the database refuses, a lost lease) rolls
  back its savepoint only: the others' writes stay, and what the database held of it
  before (its feed's earlier state) is untouched;
* the commit failing (the database went away) fails every piece of the group, as it
  would have failed each alone: nothing of the group is reported as stored;
* work runs in its own thread's context variables (``feed=`` in the log lines it
  writes), though on the leader's thread.

Nobody waits for a group to fill: a group is whatever queued while the last one was
written, so a lone writer commits at once. PostgreSQL takes writers in parallel (and
the per-topic advisory locks of several feeds, taken in one transaction, could
deadlock two workers), so there each piece of work keeps a transaction of its own.
This module knows no table: what a piece of work writes is its caller's business.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection, Engine

from monitor.storage.database import write_transaction

R = TypeVar("R")

MAX_GROUP = 32
"""Pieces of work written in one transaction at most (a bound on how long the first
of them waits for its commit)."""


@dataclass(eq=False, slots=True)
class _Work(Generic[R]):
    write: Callable[[Connection], R]
    context: contextvars.Context
    one_statement: bool = False
    """Writes by one statement at most: it needs no savepoint (below)."""
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    """Woken to write the next group (this work first in it), not because it is done."""
    result: R | None = None
    error: BaseException | None = None


class _Groups:
    """The queue of one engine and whether someone writes it now."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.queue: list[_Work[object]] = []
        self.writing = False


_GROUPS: weakref.WeakKeyDictionary[Engine, _Groups] = weakref.WeakKeyDictionary()
_GROUPS_GUARD = threading.Lock()


def write_in_group(
    engine: Engine, write: Callable[[Connection], R], *, one_statement: bool = False
) -> R:
    """Run ``write`` in a write transaction, possibly shared with other threads' work
    (under a savepoint of its own), and return what it returned once committed.

    ``one_statement``: ``write`` changes the database by one statement at most (a
    feed's state after a 304). It gets no savepoint: SQLite undoes a failed statement
    by itself, and whatever ``write`` raises after it has written nothing. Two
    statements fewer for most polls.

    An exception ``write`` raises is raised here, its writes rolled back; an error of
    the shared transaction itself (begin, commit) is raised in every thread of the
    group. Driver exceptions come out untranslated: callers translate them
    (:func:`~monitor.storage.database.translates_errors`).
    """
    if engine.dialect.name != "sqlite":
        with write_transaction(engine) as conn:
            return write(conn)
    with _GROUPS_GUARD:
        groups = _GROUPS.get(engine)
        if groups is None:
            groups = _GROUPS[engine] = _Groups()
    work: _Work[R] = _Work(write, contextvars.copy_context(), one_statement)
    with groups.guard:
        groups.queue.append(work)  # type: ignore[arg-type]
        if not groups.writing:
            groups.writing = work.lead = True
    if not work.lead:
        work.woken.wait()
    if work.lead:
        _lead(engine, groups)
    if work.error is not None:
        raise work.error
    return work.result  # type: ignore[return-value]


def _lead(engine: Engine, groups: _Groups) -> None:
    """Write one group (the leader's work first in it), then hand the writing on to the
    first work that queued meanwhile: each thread writes at most one group, so none
    waits on others' groups after its own work is stored."""
    with groups.guard:
        group = groups.queue[:MAX_GROUP]
        del groups.queue[:MAX_GROUP]
    try:
        _write_group(engine, group)
    except BaseException as exc:  # the shared transaction failed: everyone's
        for work in group:
            work.result, work.error = None, exc
    with groups.guard:
        if groups.queue:
            nxt = groups.queue[0]
            nxt.lead = True
            nxt.woken.set()
        else:
            groups.writing = False
    for work in group:
        work.lead = False
        work.woken.set()


def _write_group(engine: Engine, group: list[_Work[object]]) -> None:
    if len(group) == 1:  # alone: its own transaction, no savepoint to pay for
        work = group[0]
        try:
            with write_transaction(engine) as conn:
                work.result = work.context.run(work.write, conn)
        except Exception as exc:
            work.error = exc
        return
    with write_transaction(engine) as conn:
        # pysqlite begins a transaction only before a data change; a SAVEPOINT first
        # would start one of its own, and releasing it would commit.
        conn.exec_driver_sql("BEGIN")
        for work in group:
            if work.one_statement:
                try:
                    work.result = work.context.run(work.write, conn)
                except Exception as exc:
                    work.error = exc
                continue
            savepoint = conn.begin_nested()
            try:
                work.result = work.context.run(work.write, conn)
            except Exception as exc:
                work.error = exc
                savepoint.rollback()
            else:
                savepoint.commit()
