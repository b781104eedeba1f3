"""Worker processes that parse feeds under a deadline, and kill the ones that overrun.

feedparser can be driven into very long parses (a quadratic regular expression on long
author fields, pathological markup), and a thread cannot be stopped; a process can. A
:class:`ParserPool` keeps up to ``size`` long-lived workers (fresh interpreters, so no
locks or threads of the parent are inherited), hands each call to an idle one over a
pipe, waits at most ``deadline`` seconds for the answer, and otherwise kills that worker
and raises ``ParseError(kind="parse_timeout")``. A killed or crashed worker is replaced
on demand, so one hostile feed costs one process start, not a stalled tick.

This module knows nothing of feeds: it runs ``target(content, url=, headers=, **extra)``
named as ``module:function`` (by default the parser; :meth:`ParserPool.run` names
another) and ships back its result or ParseError. A job may name a
:class:`WorkerContext`: state a worker builds once from a payload (compiled topics) and
keeps for the jobs after it; the payload travels only to a worker that does not hold
that context's key yet (a new worker, a replaced one, or a new version after a reload).
Building it is the worker's, not the job's: the worker says when it has built it, and
the job's deadline starts then (compiling 10,000 topics takes seconds; a feed's parse
deadline is for the feed).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pickle
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.errors import ParseError
from monitor.types import ParsedFeed

if TYPE_CHECKING:  # imported when a worker starts: a pass that parses nothing never does
    from multiprocessing.connection import Connection

Target = Callable[..., object]
_Outcome = tuple[str, object, str]
_Context = tuple[str, str, object] | None
"""(builder ``module:function``, key, payload or None when the worker holds the key)."""
_Job = tuple[str, bytes, str, dict[str, str], dict[str, object], _Context]
"""target (``module:function``), content, url, headers, further keyword arguments,
the context the target gets as ``context=``."""
SETUP_FAILED = "setup_failed"
"""The error kind of a job whose context could not be built in the worker."""
_BUILT = "built"
"""What a worker answers first to a job that brought a context's payload: it holds it."""
BUILD_DEADLINE = 300.0
"""Seconds a worker may take to build a context (not counted in any job's deadline)."""


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """State a worker builds once, ``builder(payload)``, and hands to every job that
    names it (as the keyword argument ``context``) until a job names another ``key``.

    ``key`` identifies the payload (a digest): the payload crosses the pipe once per
    worker and key, not with every job.
    """

    builder: str
    """``module:function`` the worker calls with ``payload``."""
    key: str
    payload: object


DEFAULT_TARGET = "monitor.parsing.feed:parse_bytes"
MEMORY_LIMIT = 1024 << 20
"""Address space of one parser worker (RLIMIT_AS): a feed needing more is its error."""


def _post(channel: Connection, message: object) -> None:
    """``channel.send(message)`` with a plain pickler: Connection.send builds a
    ForkingPickler per message, copying the copyreg table each time, for reducers
    (sockets, file descriptors) that no job or result holds."""
    channel.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _receive(channel: Connection) -> Any:
    """What :func:`_post` sent (``channel.recv()`` unpickles the same way)."""
    return pickle.loads(channel.recv_bytes())


def _serve(default: str) -> None:
    """The worker's loop: run the jobs that arrive on stdin until it closes or says stop."""
    # Ctrl-C in the daemon's terminal is the parent's to handle; workers just go away
    # with it, instead of dying mid-parse with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from multiprocessing.connection import Connection

    requests = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    # Nothing a library prints may corrupt the reply channel.
    os.dup2(2, 1)
    targets: dict[str, Target] = {default: _resolve_target(default)}
    held: dict[str, tuple[str, object]] = {}
    """builder → (key, what it built): one context per builder, the newest."""
    while True:
        try:
            job = _receive(requests)
        except (EOFError, OSError):
            return
        if job is None:
            return
        spec, content, url, headers, extra, context = job
        outcome: _Outcome
        if context is not None:
            problem = _hold(held, context)
            try:
                if problem:
                    _post(replies, ("error", SETUP_FAILED, problem))
                    continue
                if context[2] is not None:  # the parent waits for the build, then the job
                    _post(replies, (_BUILT, "", ""))
            except (EOFError, OSError):
                return
            extra = {**extra, "context": held[context[0]][1]}
        try:
            target = targets.get(spec) or targets.setdefault(spec, _resolve_target(spec))
            outcome = ("ok", target(content, url=url, headers=headers, **extra), "")
        except ParseError as exc:
            outcome = ("error", exc.kind, str(exc))
        except MemoryError:
            outcome = ("error", "parse_error", f"over the parser's {MEMORY_LIMIT >> 20} MiB")
        except Exception as exc:  # a bug in the parser is still one feed's error
            outcome = ("error", "parse_error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            _post(replies, outcome)
        except (EOFError, OSError):
            return


def _hold(held: dict[str, tuple[str, object]], context: tuple[str, str, object]) -> str:
    """Build the job's context unless it is held already; the problem, or ""."""
    builder, key, payload = context
    have = held.get(builder)
    if have is not None and have[0] == key:
        return ""
    if payload is None:
        return f"context {key[:16]} of {builder} was never sent to this worker"
    held.pop(builder, None)  # the old version's memory goes before the new is built
    gc.unfreeze()  # and what of it a cycle holds may be collected again
    try:
        held[builder] = (key, _resolve_target(builder)(payload))
    except MemoryError:
        return f"building {builder} took over the worker's {MEMORY_LIMIT >> 20} MiB"
    except Exception as exc:
        return f"building {builder}: {type(exc).__name__}: {exc}"[:500]
    # What the worker holds now (its modules, the compiled topics: ~260,000 tracked
    # objects at 10,000 topics) lasts until the next version: the collections of its
    # jobs need not walk it (a full one took ~0.1 s there, in whichever job it met).
    gc.freeze()
    return ""


def _resolve_target(spec: str) -> Target:
    module, _, name = spec.partition(":")
    target: Target = getattr(importlib.import_module(module), name)
    return target


def main(argv: list[str] | None = None) -> None:
    """Entry point of a worker process: ``python -m monitor.parsing.pool MODULE:FUNC``."""
    args = sys.argv[1:] if argv is None else argv
    limit_memory(MEMORY_LIMIT)
    _serve(args[0] if args else DEFAULT_TARGET)
    if argv is None:
        # Told to stop (or the parent is gone): nothing of ours needs finalizing, and
        # tearing down the parser and the topics took 0.1–0.5 s a worker, which the
        # parent waited for at the end of every `monitor poll`.
        sys.stderr.flush()
        os._exit(0)


def limit_memory(limit: int) -> None:
    """Cap this process's address space: a hostile feed gets MemoryError (its own
    parse_error), not the machine's memory. Never raises the limit already set."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class BuildClock:
    """How long the pool's workers have been building contexts (compiling the topics
    after a start or a reload): the seconds during which at least one build ran, builds
    side by side counted once, the one in progress up to now. The daemon's health
    excuses a tick that long (:meth:`monitor.service.daemon.Daemon.health`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0
        self._done = 0.0

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        """One build, from the job that brings its payload to the worker's answer."""
        with self._lock:
            if not self._running:
                self._since = time.monotonic()
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    self._done += time.monotonic() - self._since

    def seconds(self) -> float:
        with self._lock:
            running = time.monotonic() - self._since if self._running else 0.0
            return self._done + running


class _BuildTimeoutError(Exception):
    """A worker took longer than the pool's ``build_deadline`` to build a context."""


class _Worker:
    """One worker process, spoken to with pickled messages over its stdin and stdout.

    A plain subprocess running ``-m monitor.parsing.pool`` rather than multiprocessing's
    spawn: spawn re-imports the parent's ``__main__``, which breaks for scripts and
    ``python -c`` callers; this does not depend on how the parent was started.
    """

    def __init__(self, target: str, builds: BuildClock) -> None:
        self._builds = builds
        env = dict(os.environ)
        # The child must import the same code as this process, wherever it came from.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "monitor.parsing.pool", target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        from multiprocessing.connection import Connection

        self._send = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._recv = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        self.calls = 0
        self.held: dict[str, str] = {}
        """builder → key of the context this worker holds (as far as the pool knows)."""

    def call(self, job: _Job, deadline: float, build: float | None = None) -> _Outcome:
        """The job's outcome. ``build``: the job brings a context's payload; the worker
        gets that long to build it (:class:`_BuildTimeoutError`), then ``deadline`` for the
        job (TimeoutError)."""
        self.calls += 1
        _post(self._send, job)
        if build is not None:
            with self._builds.timing():
                if not self._recv.poll(build):
                    raise _BuildTimeoutError
                first: _Outcome = _receive(self._recv)
            if first[0] != _BUILT:
                return first  # the build failed: that is the job's outcome
        if not self._recv.poll(deadline):
            raise TimeoutError
        outcome: _Outcome = _receive(self._recv)
        return outcome

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            _post(self._send, None)

    def stop(self) -> None:
        self.ask_to_stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=1.0)
        self.kill()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=5.0)
        self._send.close()
        self._recv.close()


class ParserPool:
    """Up to ``size`` parser processes shared by all threads."""

    def __init__(
        self,
        size: int | None = None,
        target: str = DEFAULT_TARGET,
        max_calls: int = 500,
        build_deadline: float = BUILD_DEADLINE,
    ) -> None:
        self._target = target
        """``module:function`` the workers import and call."""
        self._build_deadline = build_deadline
        """Seconds a worker may take to build a job's context, before the job's deadline."""
        self._max_calls = max_calls
        """Parses before a worker is replaced, so whatever a parser leaks is returned."""
        self._size = size or max(1, min(4, os.cpu_count() or 1))
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self.builds = BuildClock()
        """How long this pool's workers have been building contexts."""

    @property
    def build_deadline(self) -> float:
        """Seconds one worker may take to build a context."""
        return self._build_deadline

    def parse(
        self, content: bytes, *, url: str, headers: Mapping[str, str], deadline: float
    ) -> ParsedFeed:
        value = self.run(self._target, content, url=url, headers=headers, deadline=deadline)
        if isinstance(value, ParsedFeed):
            return value
        raise ParseError(f"the parser returned {type(value).__name__}, not a ParsedFeed")

    def run(
        self,
        target: str,
        content: bytes,
        *,
        url: str,
        headers: Mapping[str, str],
        deadline: float,
        context: WorkerContext | None = None,
        **extra: object,
    ) -> object:
        """``target(content, url=, headers=, **extra)`` in a worker, within ``deadline``.

        ``target`` is any ``module:function`` (the workers import it on first use);
        its arguments and result travel pickled. With ``context``, the target also gets
        ``context=`` what the worker built from it (building it first if the worker
        does not hold that key: within the pool's ``build_deadline``, and the job's
        ``deadline`` starts once it is built). Raises ParseError as :meth:`parse`.
        """
        worker = self._checkout()
        reusable = False
        sent: _Context = None
        build: float | None = None
        if context is not None:
            holds = worker.held.get(context.builder) == context.key
            sent = (context.builder, context.key, None if holds else context.payload)
            build = None if holds else self._build_deadline
        try:
            kind, value, message = worker.call(
                (target, content, url, dict(headers), extra, sent), deadline, build
            )
            reusable = True
            if context is not None and kind == "error" and value == SETUP_FAILED:
                worker.held.pop(context.builder, None)  # it dropped what it held
            elif context is not None:
                worker.held[context.builder] = context.key
        except TimeoutError:
            raise ParseError(
                f"parsing took longer than {deadline:g}s; the parser was stopped",
                kind="parse_timeout",
            ) from None
        except _BuildTimeoutError:
            assert context is not None
            raise ParseError(
                f"building {context.builder} took longer than {self._build_deadline:g}s; "
                "the parser was stopped",
                kind="parse_error",
            ) from None
        except (EOFError, OSError) as exc:
            raise ParseError(f"the parser process died: {exc}", kind="parse_error") from exc
        finally:
            if reusable and worker.calls < self._max_calls and self._owns(worker):
                self._idle.put(worker)
            elif reusable:
                self._retire(worker)
            else:
                self._discard(worker)
        if kind == "ok":
            return value
        if value == SETUP_FAILED:
            raise ParseError(message, kind="parse_error")
        raise ParseError(message, kind=str(value))

    def _checkout(self) -> _Worker:
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                start = len(self._workers) < self._size
                if start:
                    worker = _Worker(self._target, self.builds)
                    self._workers.add(worker)
                    return worker
            try:
                # Poll rather than block forever: a worker killed meanwhile frees a
                # slot that no put() will announce.
                return self._idle.get(timeout=0.05)
            except queue.Empty:
                continue

    def _owns(self, worker: _Worker) -> bool:
        with self._lock:
            return worker in self._workers

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.stop()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)

    def shutdown(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, set()
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                break
        for worker in workers:
            worker.ask_to_stop()
        for worker in workers:  # stopping together, not one after the other
            worker.stop()


if __name__ == "__main__":
    main()
