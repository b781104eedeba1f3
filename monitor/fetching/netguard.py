"""Where the fetcher may connect: URL rules, address classification, a guarded socket layer.

Every TCP connection the fetcher makes goes through :class:`GuardedBackend`, an
httpcore network backend that resolves the host itself, refuses addresses that are not
public (loopback, private, link-local, multicast, reserved, unspecified, shared, and the
IPv4-mapped, IPv4-compatible, 6to4 and NAT64 forms that smuggle them), and then connects
to the very address it checked. Checking and connecting to the same resolved address
leaves no window for DNS rebinding, and because httpcore calls the backend for each new
connection, every redirect hop is checked too.

The backend also clamps every connect, read and write timeout to the fetch's total
deadline (a context variable set by the fetcher), so a server that drips one byte a
second is cut at the deadline however the time is spent.

This module does not speak HTTP, follow redirects or read bodies; :mod:`monitor.fetching.client`
does.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "monitor_fetch_deadline", default=None
)

_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

# getaddrinfo has no timeout of its own; a few threads let a stuck resolver cost a
# bounded wait instead of a stuck fetch.
_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="monitor-dns")


class GuardError(Exception):
    """Raised inside httpcore's call stack; the fetcher turns it into a FetchResult."""

    kind = "connect"


class AddressRefusedError(GuardError):
    """The host resolved only to addresses the guard refuses; nothing was connected."""

    kind = "refused_address"


class ResolveError(GuardError):
    """DNS gave no address (or did not answer in time)."""

    kind = "dns"


def refusal_reason(address: IPAddress) -> str | None:
    """Why this address is not a public unicast one, or None when it is.

    Addresses embedding IPv4 (mapped, compatible, 6to4, NAT64) are judged by the IPv4
    address inside them, so ``::ffff:127.0.0.1`` is as loopback as ``127.0.0.1``.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return None if inner is None else f"{inner} (embedded in {address})"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        # 100.64.0.0/10 (carrier-grade NAT) and friends are neither private nor global.
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in net for net in _NAT64) or (
        address in _IPV4_COMPATIBLE and int(address) > 1  # ::, ::1 are judged as IPv6
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_ip(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal (brackets and zone allowed), else None."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound every socket operation in this context to ``time.monotonic() <= at``."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining(timeout: float | None) -> float | None:
    """``timeout`` clamped to the current deadline; 0 or less means it has passed."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation respects the fetch's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = remaining(timeout)
        if left is not None and left <= 0:
            raise httpcore.ReadTimeout("total deadline exceeded")
        return self._inner.read(max_bytes, left)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        left = remaining(timeout)
        if left is not None and left <= 0:
            raise httpcore.WriteTimeout("total deadline exceeded")
        self._inner.write(buffer, left)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = remaining(timeout)
        if left is not None and left <= 0:
            raise httpcore.ConnectTimeout("total deadline exceeded")
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address, connect only to a checked one.

    ``allow_private`` turns the address check off (tests on 127.0.0.1, intranet feeds);
    ``exceptions`` allows just the listed addresses. The deadline clamp stays on.
    """

    def __init__(self, *, allow_private: bool, exceptions: Iterable[IPAddress] = ()) -> None:
        self._allow_private = allow_private
        self._exceptions = frozenset(exceptions)
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        candidates = self._resolve(host, port, remaining(timeout))
        allowed: list[IPAddress] = []
        refused: list[str] = []
        for address in candidates:
            allowed_anyway = self._allow_private or address in self._exceptions
            reason = None if allowed_anyway else refusal_reason(address)
            if reason is None:
                allowed.append(address)
            else:
                refused.append(f"{address} is {reason}")
        if not allowed:
            raise AddressRefusedError(f"refused to connect to {host}: {'; '.join(refused)}")
        last: Exception | None = None
        for address in allowed:
            left = remaining(timeout)
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout("total deadline exceeded")
            try:
                stream = self._sockets.connect_tcp(
                    str(address), port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return _DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise AddressRefusedError("unix sockets are never used for feeds")

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        literal = parse_ip(host)
        if literal is not None:
            return [literal]
        if timeout is not None and timeout <= 0:
            raise httpcore.ConnectTimeout("total deadline exceeded before DNS")
        future = _RESOLVER.submit(
            socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        try:
            infos = future.result(timeout=timeout)
        except FutureTimeout as exc:
            raise ResolveError(f"DNS lookup of {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise ResolveError(f"DNS lookup of {host} failed: {exc}") from exc
        found: list[IPAddress] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = parse_ip(str(sockaddr[0]))
            if address is not None and address not in found:
                found.append(address)
        if not found:
            raise ResolveError(f"DNS lookup of {host} returned no address")
        return found
