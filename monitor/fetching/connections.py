"""Kept-alive HTTP connections, found by origin: what the fetcher sends its requests on.

httpcore's ``ConnectionPool`` walks every connection it holds (and asks the kernel
whether each idle one is readable, and counts the idle ones again for each) on every
request and on every response closed, all under one lock: with an idle connection per
feed host that is quadratic work, and a pass of 304s spent more time there than in
HTTP. Here the idle connections of an origin wait in a list of their own; a request
takes the newest one still usable (one readability check) or opens a new
``httpcore.HTTPConnection``, and a response, once closed, gives its connection back if
the exchange ended cleanly (nothing left unread, nothing sent after the response). At
most ``max_connections`` exchanges run at once and at most ``max_connections`` idle
connections are kept (the oldest closed first).

Every connection is opened through the network backend given (the fetcher's
address-checking, deadline-clamping :class:`~monitor.fetching.netguard.GuardedBackend`).
This module raises httpcore's exceptions as they come; translating them is the
fetcher's business. It does not build requests, follow redirects or read bodies.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

import httpcore

_Key = tuple[bytes, bytes, int]


class Connections:
    """Idle connections by origin, and a bound on the exchanges in flight; thread-safe."""

    def __init__(
        self,
        *,
        make_ssl_context: Callable[[], ssl.SSLContext],
        network_backend: httpcore.NetworkBackend,
        max_connections: int,
        keepalive_expiry: float,
    ) -> None:
        # Made on the first https origin (loading the CA bundle costs ~30 ms), then shared.
        self._make_ssl_context = make_ssl_context
        self._ssl_context: ssl.SSLContext | None = None
        self._backend = network_backend
        self._keepalive_expiry = keepalive_expiry
        self._max_idle = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._idle: dict[_Key, list[httpcore.HTTPConnection]] = {}
        self._idle_order: OrderedDict[httpcore.HTTPConnection, tuple[_Key, float]] = OrderedDict()
        """Idle connections, the longest idle first: their origin and when they came back."""
        self._closed = False

    def send(self, request: httpcore.Request, *, wait: float) -> httpcore.Response:
        """Send ``request`` on a connection of its origin; the response's ``close`` gives
        the connection back. ``wait``: longest wait for a free slot, in seconds."""
        if not self._slots.acquire(timeout=max(wait, 0.0)):
            raise httpcore.PoolTimeout("no connection free before the deadline")
        try:
            origin = request.url.origin
            key = (origin.scheme, origin.host, origin.port)
            connection = self._take(origin, key)
            try:
                response = connection.handle_request(request)
            except BaseException:
                connection.close()
                raise
        except BaseException:
            self._slots.release()
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_GivesBack(response, connection, key, self),
            extensions=response.extensions,
        )

    def idle_count(self) -> int:
        """How many idle connections are kept now."""
        with self._lock:
            return len(self._idle_order)

    def sweep(self) -> int:
        """Close the idle connections whose keep-alive time is over or that the server
        closed; how many. Between passes nothing else looks at them, and a socket the
        server closed would wait in CLOSE_WAIT until the next request of any origin."""
        with self._lock:
            idle = list(self._idle_order.items())
        stale = [c for c, _ in idle if c.has_expired() or not c.is_idle()]
        closing = []
        with self._lock:
            for connection in stale:
                placed = self._idle_order.pop(connection, None)
                if placed is None:
                    continue  # taken meanwhile: its taker checks it again
                key = placed[0]
                self._idle[key].remove(connection)
                if not self._idle[key]:
                    del self._idle[key]
                closing.append(connection)
        for connection in closing:
            connection.close()
        return len(closing)

    def close(self) -> None:
        """Close the idle connections; those in flight are closed when their response is."""
        with self._lock:
            self._closed = True
            idle = list(self._idle_order)
            self._idle.clear()
            self._idle_order.clear()
        for connection in idle:
            connection.close()

    def _take(self, origin: httpcore.Origin, key: _Key) -> httpcore.HTTPConnection:
        while True:
            with self._lock:
                waiting = self._idle.get(key)
                if not waiting:
                    break
                connection = waiting.pop()
                if not waiting:
                    del self._idle[key]
                del self._idle_order[connection]
            # Expired: its keep-alive time is over, or the server closed it (readable).
            if connection.has_expired() or not connection.is_idle():
                connection.close()
                continue
            return connection
        return httpcore.HTTPConnection(
            origin,
            ssl_context=self._tls() if origin.scheme == b"https" else None,
            keepalive_expiry=self._keepalive_expiry,
            network_backend=self._backend,
        )

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl_context is None:
                self._ssl_context = self._make_ssl_context()
            return self._ssl_context

    def _give_back(self, connection: httpcore.HTTPConnection, key: _Key) -> None:
        try:
            if not connection.is_idle() or _sent_more(connection):
                # cut short, the server asked to close, or it sent more than its answer
                connection.close()
                return
            surplus: list[httpcore.HTTPConnection] = []
            with self._lock:
                if self._closed:
                    surplus.append(connection)
                else:
                    now = time.monotonic()
                    self._idle.setdefault(key, []).append(connection)
                    self._idle_order[connection] = (key, now)
                    # Past their keep-alive time the longest idle are of no more use
                    # (their sockets are not left open until their origin's next
                    # request); past max_connections the longest idle make room.
                    while self._idle_order:
                        oldest, (its_key, since) = next(iter(self._idle_order.items()))
                        if (
                            len(self._idle_order) <= self._max_idle
                            and now - since < self._keepalive_expiry
                        ):
                            break
                        del self._idle_order[oldest]
                        self._idle[its_key].remove(oldest)
                        if not self._idle[its_key]:
                            del self._idle[its_key]
                        surplus.append(oldest)
            for extra in surplus:
                extra.close()
        finally:
            self._slots.release()


_H11_STATE = ("_connection", "_h11_state")
"""Where httpcore (1.0) keeps an HTTP/1.1 connection's h11 state: private, read only by
:func:`_sent_more` (httpcore has no public way to ask for bytes left after a response)."""
_unreadable_warned = threading.Event()


def _sent_more(connection: httpcore.HTTPConnection) -> bool:
    """Whether bytes came after the response that just ended (a body on a 304, say): the
    next response read on the connection would begin with them and fail as invalid HTTP.

    Read from httpcore's HTTP/1.1 state (h11's unprocessed data). An httpcore whose
    connections no longer hold it where :data:`_H11_STATE` says (a private attribute,
    free to change) gets True: the connection is closed rather than reused unchecked,
    keep-alive is lost, and the log says so once."""
    state: object = connection
    try:
        for name in _H11_STATE:
            state = getattr(state, name)
        data, closed = state.trailing_data  # type: ignore[attr-defined]
        return bool(data) or bool(closed)
    except (AttributeError, TypeError, ValueError):
        _warn_unreadable()
        return True


def _warn_unreadable() -> None:
    if _unreadable_warned.is_set():
        return
    _unreadable_warned.set()
    from monitor.log import get_logger

    get_logger("monitor.fetching").warning(
        "keepalive_disabled",
        httpcore=getattr(httpcore, "__version__", "unknown"),
        detail="this httpcore's connection state cannot be read: each connection is "
        "closed after its exchange instead of being kept alive",
    )


class _GivesBack:
    """A response body that returns its connection to the pool once closed."""

    def __init__(
        self,
        response: httpcore.Response,
        connection: httpcore.HTTPConnection,
        key: _Key,
        pool: Connections,
    ) -> None:
        self._response = response
        self._connection = connection
        self._key = key
        self._pool = pool
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_stream()

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._response.close()
        finally:
            self._pool._give_back(self._connection, self._key)
