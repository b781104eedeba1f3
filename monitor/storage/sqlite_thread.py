"""The one thread that reads and writes a SQLite file for the polling threads.

What a SQLite connection keeps between statements (the schema it parsed, its prepared
statements) is C heap made by the thread that ran the statement. Made on the polling
threads, among their short-lived HTTP and parsing allocations, those long-lived blocks
pinned the free space of the polling threads' malloc arena: the daemon's memory grew
tick after tick (issue #15). So for a SQLite file, the polls' reads and the group
commit's writes (:mod:`monitor.storage.group_commit`) run on one long-lived thread per
engine, which also keeps to one or two pooled connections instead of one per busy
polling thread; a polling thread hands its work over and waits for the answer.

PostgreSQL keeps everything on the calling thread: its server does the work, and its
transactions run in parallel. This module knows no table.
"""

from __future__ import annotations

import contextvars
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Engine

R = TypeVar("R")


class _Thread:
    """One engine's thread (started at its first work), in the process that made it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.ident: int | None = None


_THREADS: weakref.WeakKeyDictionary[Engine, _Thread] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def _thread_of(engine: Engine) -> _Thread:
    with _GUARD:
        thread = _THREADS.get(engine)
        if thread is None or thread.pid != os.getpid():  # a forked child: not its thread
            thread = _THREADS[engine] = _Thread()
        return thread


def uses_own_thread(engine: Engine) -> bool:
    """Whether ``engine``'s polling work runs on its own thread (SQLite) and the calling
    thread is not that one."""
    if engine.dialect.name != "sqlite":
        return False
    thread = _THREADS.get(engine)
    return thread is None or thread.ident != threading.get_ident()


def submit(engine: Engine, work: Callable[[], R]) -> Future[R]:
    """Run ``work`` on ``engine``'s thread in the caller's context variables (``feed=``
    in the log lines it writes); at interpreter exit, when no thread can start any
    more, on the calling thread."""
    thread = _thread_of(engine)
    context = contextvars.copy_context()

    def run() -> R:
        thread.ident = threading.get_ident()
        return context.run(work)

    try:
        return thread.executor.submit(run)
    except RuntimeError:  # shutting down
        done: Future[R] = Future()
        try:
            done.set_result(context.run(work))
        except BaseException as exc:
            done.set_exception(exc)
        return done


def on_sqlite_thread(engine: Engine, work: Callable[[], R]) -> R:
    """``work()``, run on ``engine``'s thread when it is a SQLite file's (see the module's
    docstring), else here; what it raises is raised here."""
    if not uses_own_thread(engine):
        return work()
    return submit(engine, work).result()
