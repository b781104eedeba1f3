"""The daemon's jobs on a monotonic clock: wall-clock steps never stop or bunch them.

APScheduler 3 compares its run times with the wall clock: when the clock steps back an
hour (an NTP correction, a VM restored from a snapshot) its next tick is an hour away,
and a step forward makes it walk every missed run time. A :class:`Timer` runs each job
on its own thread every ``every`` seconds of ``time.monotonic()``, which never jumps:
one run at a time per job (a run that overruns its period skips the periods it
overran, runs are never stacked), and an exception is logged with its traceback
without ending the job.

It does not know what the jobs do, nor the time of day: a job that must happen at a
wall-clock hour (the nightly prune) is run often and decides for itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.log import get_logger

log = get_logger("monitor.service.timer")


@dataclass
class _Job:
    name: str
    func: Callable[[], None]
    every: float
    due: float
    wake: threading.Event = field(default_factory=threading.Event)


class Timer:
    """A few named jobs, each repeated every so many monotonic seconds until stopped."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._jobs: dict[str, _Job] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add_job(
        self, name: str, func: Callable[[], None], every: float, *, first: float = 0.0
    ) -> None:
        """Run ``func`` ``first`` seconds after :meth:`start`, then every ``every`` s."""
        self._jobs[name] = _Job(name, func, max(0.01, every), first)

    def reschedule(self, name: str, every: float) -> None:
        """A new period for ``name``, counted from now."""
        job = self._jobs[name]
        job.every = max(0.01, every)
        job.due = min(job.due, self._clock() + job.every)
        job.wake.set()

    def start(self) -> None:
        """Run every job on its own thread and block until :meth:`shutdown`."""
        started = self._clock()
        for job in self._jobs.values():
            job.due += started
            thread = threading.Thread(target=self._run, args=(job,), name=job.name, daemon=True)
            self._threads.append(thread)
            thread.start()
        self._stop.wait()

    def shutdown(self) -> None:
        """Stop starting runs (a run in progress finishes on its own); :meth:`start` returns."""
        self._stop.set()
        for job in self._jobs.values():
            job.wake.set()

    def _run(self, job: _Job) -> None:
        while not self._stop.is_set():
            delay = job.due - self._clock()
            if delay > 0:
                job.wake.wait(delay)
                job.wake.clear()
                continue
            try:
                job.func()
            except Exception:
                log.exception("job_failed", job=job.name)
            # Periods a long run overran are skipped, not made up for: the next run
            # is at the next point of the job's grid.
            job.due += job.every
            now = self._clock()
            if job.due <= now:
                job.due += ((now - job.due) // job.every + 1) * job.every
