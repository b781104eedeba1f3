"""Ending a finished command's process without the interpreter's teardown.

When `monitor poll` (or `monitor match`) has closed what it opened (the database, its
connections, the parser workers, the channels) and printed its output, what is left of
the process is Python's own teardown: every module's objects freed one by one and a last
full garbage collection over SQLAlchemy, pydantic, httpx and the rest, ~0.1-0.15 s of
CPU, a tenth of a pass over unchanged feeds, in a command cron may start every few
minutes. (mypy ends its runs the same way, for the same reason.)

A command that has finished calls :func:`mark_finished`; the entry point then ends the
process with :func:`end_process`, which keeps the exit steps that can matter: it falls
back on the ordinary exit while any other non-daemon thread runs, runs every ``atexit``
function (logging's flush, multiprocessing's clean-up …) and flushes stdout and stderr,
then leaves with ``os._exit`` and the command's exit status. A flush that fails (a
reader that closed its pipe) leaves the end to the ordinary exit, which reports the
loss. A command that did not call :func:`mark_finished` (one that failed, or any other
command) exits as usual.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

__all__ = ["end_process", "mark_finished"]

_FINISHED: list[bool] = []


def mark_finished() -> None:
    """The command has closed everything it opened: its process may skip the teardown."""
    _FINISHED[:] = [True]


def end_process(code: object) -> None:
    """End the process now with ``code`` (a :class:`SystemExit`'s) if the command
    finished (:func:`mark_finished`) and nothing else runs; else return, and the caller
    exits as usual. Never call this from a process that must go on (a test runner)."""
    if not _FINISHED or not (code is None or isinstance(code, int)):
        return
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        return  # a thread still working: Python joins it first, as always
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            # what the command printed did not all get out (a closed pipe, a full
            # disk): the ordinary exit says so and ends with Python's status 120,
            # never 0 as if it had (the exit functions above have run and are gone)
            return
    os._exit(code or 0)
