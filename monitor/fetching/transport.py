"""An httpx transport on the guarded network backend, for the httpx clients of our own
endpoints (webhooks), and the table that turns httpcore's exceptions into httpx's.

The fetcher uses neither (it sends its requests on
:class:`~monitor.fetching.connections.Connections` itself, without importing httpx, and
:mod:`monitor.fetching.errors` classifies httpcore's exceptions as the httpx ones this
table makes of them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import httpcore
import httpx

from monitor.fetching import netguard
from monitor.fetching.settings import FetchSettings

# httpcore's exceptions and the httpx ones they become, as httpx's own transport maps
# them (httpx/_transports/default.py): classification then knows httpx's tree only.
_HTTPCORE_TO_HTTPX: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


@contextlib.contextmanager
def httpx_errors() -> Iterator[None]:
    """Re-raise an httpcore exception as the most specific httpx one, ``from`` it."""
    try:
        yield
    except Exception as exc:
        mapped: type[httpx.TransportError] | None = None
        for source, target in _HTTPCORE_TO_HTTPX.items():
            if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
                mapped = target
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class MappedStream(httpx.SyncByteStream):
    """An httpcore response's body, read and closed with httpcore's exceptions raised as
    httpx's (:func:`httpx_errors`)."""

    def __init__(self, stream: httpcore.Response) -> None:
        self._response = stream

    def __iter__(self) -> Iterator[bytes]:
        with httpx_errors():
            yield from self._response.iter_stream()

    def close(self) -> None:
        with httpx_errors():
            self._response.close()


class GuardedTransport(httpx.BaseTransport):
    """httpx's transport contract over an httpcore pool on the guarded backend.

    httpx.HTTPTransport offers no way to choose the network backend, so this is the
    small part of it we need. httpcore exceptions become httpx's here, by a table as in
    httpx's own transport.
    """

    def __init__(self, settings: FetchSettings, exceptions: Iterable[netguard.IPAddress]) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=settings.max_connections,
            max_keepalive_connections=min(20, settings.max_connections),
            keepalive_expiry=5.0,
            network_backend=netguard.GuardedBackend(
                allow_private=settings.allow_private_networks, exceptions=exceptions
            ),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        with httpx_errors():
            response = self._pool.handle_request(
                httpcore.Request(
                    method=request.method,
                    url=httpcore.URL(
                        scheme=request.url.raw_scheme,
                        host=request.url.raw_host,
                        port=request.url.port,
                        target=request.url.raw_path,
                    ),
                    headers=request.headers.raw,
                    content=request.stream,
                    extensions=request.extensions,
                )
            )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=MappedStream(response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def deadline_transport(max_connections: int = 4) -> httpx.BaseTransport:
    """A transport whose every socket operation respects :func:`netguard.deadline`,
    without the address guard: for our own endpoints (webhooks), where a timeout per
    read would let a receiver that drips its answer hold a request for ever."""
    settings = FetchSettings(allow_private_networks=True, max_connections=max_connections)
    return GuardedTransport(settings, ())
