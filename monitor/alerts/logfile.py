"""The alert log: the always-on channel, one JSON object a line, each alert exactly once.

Every line is appended with one ``write`` on an ``O_APPEND`` descriptor under an
exclusive ``flock`` and fsynced before ``send`` returns, so a line that is in the file is
durable and whole. The outbox retries a delivery when a crash fell between "appended"
and "marked delivered"; to keep such an alert from appearing twice, the log remembers
the ids in the tail of the file (read at open, and whatever any process appended
since) and skips an id it already holds. It does not rotate itself: logrotate moves the
file and SIGHUP (or the next ``send``, which notices the move) reopens it.

A line is written once, when the alert is first delivered, so its ``feeds`` are the
feeds known to carry the story at that moment (all of them when they were polled in
the same pass; only the first when the others carried it later). `monitor alerts`
reads the database and always lists every feed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
from pathlib import Path

from monitor.alerts.batch import Batch
from monitor.errors import DeliveryError
from monitor.types import Alert

TAIL_BYTES = 1 << 20
"""How much of an existing file is read for ids at open (about 2,000 alerts)."""
REMEMBER = 100_000
"""At most this many ids are kept in memory (oldest forgotten first)."""
_CHUNK = 1 << 20


class AlertLog:
    """JSON Lines file of alerts (``Alert.to_json()``), each alert id at most once."""

    name = "log"
    key = "log"
    topics: frozenset[str] | None = None

    def __init__(self, path: str | Path, *, tail_bytes: int = TAIL_BYTES) -> None:
        self.path = Path(path)
        self._tail_bytes = tail_bytes
        self._lock = threading.Lock()
        self._ids: dict[str, None] = {}  # insertion-ordered set, oldest first
        self._fd: int | None = None
        self._identity: tuple[int, int] = (0, 0)
        self._scanned = 0
        """Offset up to which every complete line has been read for ids."""
        self._skip_partial = False
        """The scan started inside a line; what precedes the next newline is not ours."""
        with self._lock:
            self._open()

    def send_batch(self, batch: Batch, *, delivery_id: str) -> None:
        """The log is the record: never batched, but if asked, one line per alert."""
        for alert in batch.alerts:
            self.send(alert, delivery_id=delivery_id)

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        """Append ``alert`` unless its id is already in the log; fsync before returning."""
        data = (json.dumps(alert.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            fd = self._current_fd()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise self._error("cannot lock", exc) from exc
            try:
                self._append(fd, alert.id, data)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def reopen(self) -> None:
        """Open the file at ``path`` again (after logrotate moved it); ids are kept."""
        with self._lock:
            self._close_fd()
            self._open()

    def close(self) -> None:
        with self._lock:
            self._close_fd()

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._ids

    # -- internals (called with self._lock held) ---------------------------------------

    def _append(self, fd: int, alert_id: str, data: bytes) -> None:
        try:
            size = os.fstat(fd).st_size
            self._catch_up(fd, size)
            if alert_id in self._ids:
                return
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # A line cut short by a crash or power loss: end it, so ours stays whole.
                data = b"\n" + data
        except OSError as exc:
            raise self._error("cannot read", exc) from exc
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        except OSError as exc:
            # Leave no partial line behind; the outbox retries the whole alert later.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise self._error("cannot append", exc) from exc
        self._remember(alert_id)
        self._scanned = size + len(data)
        self._skip_partial = False

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise self._error("cannot open", exc) from exc
        self._fd = fd
        try:
            stat = os.fstat(fd)
            self._identity = (stat.st_dev, stat.st_ino)
            start = max(0, stat.st_size - self._tail_bytes)
            self._skip_partial = start > 0 and os.pread(fd, 1, start - 1) != b"\n"
            self._scanned = start
            self._catch_up(fd, stat.st_size)
        except OSError as exc:
            self._close_fd()
            raise self._error("cannot read", exc) from exc

    def _current_fd(self) -> int:
        """The descriptor of the file now at ``path``, reopening after a move."""
        if self._fd is not None:
            try:
                stat = os.stat(self.path)
                moved = (stat.st_dev, stat.st_ino) != self._identity
            except FileNotFoundError:
                moved = True
            except OSError as exc:
                raise self._error("cannot stat", exc) from exc
            if not moved:
                return self._fd
            self._close_fd()
        self._open()
        assert self._fd is not None
        return self._fd

    def _catch_up(self, fd: int, size: int) -> None:
        """Read ids from the complete lines between ``_scanned`` and ``size``."""
        if size < self._scanned:  # truncated by someone: start over from its tail
            self._scanned = max(0, size - self._tail_bytes)
            self._skip_partial = self._scanned > 0
        pending = b""
        offset = self._scanned
        while offset < size:
            chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
            if not chunk:
                break
            offset += len(chunk)
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                self._scanned += len(line) + 1
                if self._skip_partial:
                    self._skip_partial = False
                    continue
                self._read_id(line)

    def _read_id(self, line: bytes) -> None:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            return  # a cut line or foreign text: not an alert of ours
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            self._remember(value["id"])

    def _remember(self, alert_id: str) -> None:
        self._ids[alert_id] = None
        if len(self._ids) > REMEMBER:
            del self._ids[next(iter(self._ids))]

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _error(self, what: str, exc: OSError) -> DeliveryError:
        reason = exc.strerror or type(exc).__name__
        return DeliveryError(f"alert log {self.path}: {what}: {reason}", retryable=True)
