"""HTTP: the only code that fetches feeds. One shared client, bounded in every way.

:class:`Fetcher` sends a conditional GET with exactly the stored validators, follows at
most ``max_redirects`` redirects by hand (each hop's URL re-checked, each connection
address-checked by :mod:`monitor.fetching.netguard`), stops at a total deadline that covers
redirects and body, and reads at most ``max_bytes`` after decompression
(:mod:`monitor.fetching.content_coding`). Whatever a server or the network does comes back as a
:class:`~monitor.types.FetchResult` with an ``error_kind`` an operator can act on; only
our own bugs raise.

It does not parse feeds, decide when to poll next (it reports the server's hints in
``retry_after``), or store anything. Whether a 2xx body is a feed is the parser's call.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType

import httpcore

from monitor.fetching import content_coding, lazy_httpx, netguard
from monitor.fetching.connections import Connections
from monitor.fetching.errors import TRANSPORT_ERRORS, challenge_kind, classify_exception
from monitor.fetching.http_hints import cache_hint, parse_retry_after
from monitor.fetching.settings import ACCEPT, FetchSettings
from monitor.fetching.urls import InvalidUrlError, Target, parse
from monitor.types import ErrorKind, FetchResult

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_ERROR_BODY_SNIFF = 32 * 1024
_REDIRECT_BODY_DRAIN = 16 * 1024
"""Bytes of a redirect's body read to keep its connection; a longer one closes it."""
_REDIRECT_DRAIN_WAIT = 1.0
"""Seconds a redirect's body is waited for at most (it comes with its head, or soon
after): one that trickles or never ends closes its connection instead of holding up
the next hop until the fetch's deadline."""
# What reading an error body may raise that leaves it unread (the page is then no challenge).
_SNIFF_SPARED: tuple[type[Exception], ...] = (
    content_coding.TooLargeError,
    content_coding.DecodingError,
    *TRANSPORT_ERRORS,
)


class BadUrlError(Exception):
    """A URL the fetcher will not request (scheme, credentials, no host)."""


def check_url(url: str | Target) -> Target:
    """The URL parsed, if it is http(s) with a host and no credentials; else BadUrlError."""
    try:
        parsed = url if isinstance(url, Target) else parse(url.strip())
    except (InvalidUrlError, TypeError, ValueError, UnicodeError) as exc:
        raise BadUrlError(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise BadUrlError(f"only http and https are fetched, not {parsed.scheme or 'no scheme'!r}")
    if not parsed.host:
        raise BadUrlError("URL has no host")
    if parsed.userinfo:
        raise BadUrlError("credentials in URLs are refused")
    return parsed


class Fetcher:
    """One shared HTTP client for every feed; ``fetch`` is safe from many threads.

    ``allow_addresses`` lets through exactly these IP addresses even when private
    networks are refused (one intranet host, or a test proving that its neighbours are
    still refused).
    """

    def __init__(self, settings: FetchSettings, *, allow_addresses: Iterable[str] = ()) -> None:
        self.settings = settings
        exceptions = [ipaddress.ip_address(a) for a in allow_addresses]
        # Requests go straight to kept-alive connections (no client in between: no
        # proxies from the environment, which would make the address guard check the
        # proxy instead of the feed's host; no cookies, so one feed's cannot ride along
        # to another's server).
        self._connections = Connections(
            make_ssl_context=_ssl_context,
            network_backend=netguard.GuardedBackend(
                allow_private=settings.allow_private_networks, exceptions=exceptions
            ),
            max_connections=settings.max_connections,
            keepalive_expiry=5.0,
        )
        self._timeouts = {
            "connect": settings.connect_timeout,
            "read": settings.read_timeout,
            "write": settings.read_timeout,
            "pool": settings.total_timeout,
        }
        self._headers = [
            (b"User-Agent", settings.user_agent.encode("ascii")),
            (b"Accept", ACCEPT.encode("ascii")),
            (b"Accept-Encoding", ", ".join(content_coding.SUPPORTED).encode("ascii")),
        ]
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._connections.close()

    def sweep(self) -> int:
        """Close the kept-alive connections that are of no more use (idle past their
        keep-alive time, or closed by the server); the daemon calls it between ticks."""
        return self._connections.sweep()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        now: datetime,
        max_bytes: int | None = None,
        total_timeout: float | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url`` (conditionally when validators are given); never raises for
        anything a server or the network does.

        ``max_bytes``, ``total_timeout`` and ``accept`` narrow the settings for one call
        (an article page gets a smaller cap than a feed); they never widen them.
        """
        started = time.monotonic()
        try:
            target = check_url(url)
        except BadUrlError as exc:
            return FetchResult(
                status="error", url=url, error_kind=ErrorKind.BAD_URL, error=str(exc)
            )
        headers: dict[str, str] = {}
        if accept:
            headers["Accept"] = accept
        limit = min(max_bytes or self.settings.max_bytes, self.settings.max_bytes)
        seconds = min(total_timeout or self.settings.total_timeout, self.settings.total_timeout)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with self._host_slot(target.host):
            # The deadline starts once we hold the host's slot: waiting behind another
            # feed of the same host is not this server's slowness.
            begun = time.monotonic()
            at = begun + seconds
            try:
                with netguard.deadline(at):
                    result = self._follow(url, target, headers, now, at, limit)
            except Exception as exc:
                # A timeout clamped to the deadline looks like any other timeout.
                passed = time.monotonic() >= at - 0.05
                kind, message = classify_exception(exc, self.settings, deadline_passed=passed)
                if kind is None:
                    raise
                result = FetchResult(status="error", url=url, error_kind=kind, error=message)
        if result.status == "not_modified" and not headers:
            # "Not modified" since what? Taken as such, the feed would yield nothing,
            # silently, for as long as the server says it.
            result = _error(
                result.url,
                ErrorKind.PROTOCOL,
                "304 Not Modified to a request without a validator",
                result.http_status,
                headers=dict(result.headers),
            )
        return _with_elapsed(result, time.monotonic() - started)

    def _host_slot(self, host: str) -> threading.BoundedSemaphore:
        key = host.lower()
        with self._hosts_lock:
            slot = self._hosts.get(key)
            if slot is None:
                slot = self._hosts[key] = threading.BoundedSemaphore(self.settings.per_host)
            return slot

    def _follow(
        self,
        url: str,
        target: Target,
        headers: dict[str, str],
        now: datetime,
        at: float,
        limit: int,
    ) -> FetchResult:
        moved_to: str | None = None
        still_permanent = True
        for hop in range(self.settings.max_redirects + 1):
            response = self._send(target, headers, at)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    if hop == self.settings.max_redirects:
                        return _error(
                            url,
                            ErrorKind.TOO_MANY_REDIRECTS,
                            f"more than {self.settings.max_redirects} redirects "
                            f"(last to {response.headers['location'][:200]})",
                            response.status_code,
                        )
                    try:
                        target = check_url(target.join(response.headers["location"]))
                    except (BadUrlError, InvalidUrlError) as exc:
                        return _error(
                            url, ErrorKind.BAD_URL, f"redirect refused: {exc}", response.status_code
                        )
                    # Read a short body to its end: the connection is then kept for
                    # the next hop (most redirects stay on their host).
                    _drain(response, at, _REDIRECT_BODY_DRAIN)
                    if response.status_code in _PERMANENT and still_permanent:
                        moved_to = str(target)
                    else:
                        still_permanent = False
                    continue
                result = self._finish(response, now, at, limit)
            finally:
                response.close()
            if moved_to is not None and result.status != "error":
                # Only a move to a working feed is worth following for good.
                result = replace(result, permanent_redirect=moved_to)
            return result
        raise AssertionError("unreachable: the loop returns on its last hop")

    def _send(self, target: Target, headers: dict[str, str], at: float) -> _Response:
        """One GET on a kept-alive connection; the body is still to be read."""
        # Header values encode as httpx encodes them (ASCII; anything else is refused).
        given = [(k.encode("ascii"), _wire(v)) for k, v in headers.items()]
        named = {k.lower() for k, _ in given}
        # A header given for this call (an article page's Accept) replaces the default.
        fields = [
            (b"Host", target.netloc),
            *(field for field in self._headers if field[0].lower() not in named),
            *given,
        ]
        request = httpcore.Request(
            b"GET",
            httpcore.URL(
                scheme=target.raw_scheme,
                host=target.raw_host,
                port=target.port,
                target=target.raw_path,
            ),
            headers=fields,
            extensions={"timeout": self._timeouts},
        )
        raw = self._connections.send(request, wait=at - time.monotonic())
        reason = raw.extensions.get("reason_phrase", b"")
        return _Response(
            status_code=raw.status,
            headers=_header_dict(raw.headers),
            reason_phrase=reason.decode("ascii", errors="ignore")
            if isinstance(reason, bytes)
            else "",
            url=str(target),
            raw=raw,
        )

    def _finish(self, response: _Response, now: datetime, at: float, limit: int) -> FetchResult:
        status = response.status_code
        final = response.url
        headers = response.headers
        if status == 304:
            # A 304 has no body; reading to its end keeps the connection for the next.
            for _ in _until(response.iter_raw(), at):
                pass
            return FetchResult(
                status="not_modified",
                url=final,
                http_status=status,
                headers=headers,
                retry_after=cache_hint(headers, now),
            )
        if 200 <= status < 300:
            body = self._read(response, at, limit)
            return FetchResult(
                status="ok",
                url=final,
                http_status=status,
                content=body,
                headers=headers,
                etag=_validator(response.raw.headers, b"etag"),
                last_modified=_validator(response.raw.headers, b"last-modified"),
                retry_after=cache_hint(headers, now),
            )
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(headers.get("retry-after"), now)
        if status in (403, 429, 503):
            sniff = self._sniff(response, at)
            challenge = challenge_kind(headers, sniff)
            if challenge is not None:
                return _error(
                    final,
                    ErrorKind.BOT_CHALLENGE,
                    challenge,
                    status,
                    headers=headers,
                    retry_after=retry_after,
                )
        if status == 410:
            return _error(
                final, ErrorKind.GONE, "410 Gone: the feed was removed", status, headers=headers
            )
        if status == 429:
            return _error(
                final,
                ErrorKind.RATE_LIMITED,
                "429 Too Many Requests",
                status,
                headers=headers,
                retry_after=retry_after,
            )
        reason = response.reason_phrase or "error"
        return _error(
            final,
            ErrorKind.http(status),
            f"HTTP {status} {reason}",
            status,
            headers=headers,
            retry_after=retry_after,
        )

    def _read(self, response: _Response, at: float, limit: int) -> bytes:
        length = response.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > limit:
            raise content_coding.TooLargeError(
                f"Content-Length {int(length)} is over the {limit}-byte cap"
            )
        return content_coding.read_bounded(
            _until(response.iter_raw(), at),
            response.headers.get("content-encoding"),
            limit,
        )

    def _sniff(self, response: _Response, at: float) -> bytes:
        """The start of an error body, enough to recognise a bot challenge page."""
        try:
            return content_coding.read_bounded(
                _until(response.iter_raw(), at),
                response.headers.get("content-encoding"),
                _ERROR_BODY_SNIFF,
            )
        except _SNIFF_SPARED:
            return b""


@dataclass(slots=True)
class _Response:
    """What the fetcher reads of a response: its head decoded, its body still to read."""

    status_code: int
    headers: dict[str, str]
    """Names lower-cased; a repeated header's values joined by ", " (as httpx does)."""
    reason_phrase: str
    url: str
    raw: httpcore.Response

    def iter_raw(self) -> Iterator[bytes]:
        return self.raw.iter_stream()

    def close(self) -> None:
        self.raw.close()


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers as httpx decodes them: ASCII, else UTF-8, else Latin-1 for all."""
    encoding = "iso-8859-1"
    for candidate in ("ascii", "utf-8"):
        try:
            for name, value in raw:
                name.decode(candidate)
                value.decode(candidate)
        except UnicodeDecodeError:
            continue
        encoding = candidate
        break
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode(encoding).lower()
        text = value.decode(encoding)
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _validator(raw: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """A validator as the server sent it, byte for byte (Latin-1 maps each byte to one
    character): sent back by :func:`_wire`, it is the same bytes, whatever their
    encoding. Decoded as UTF-8, a non-ASCII ETag could not go back as it came."""
    values = [value.decode("iso-8859-1") for key, value in raw if key.lower() == name]
    return ", ".join(values) if values else None


def _wire(value: str) -> bytes:
    """A request header's value as bytes: a validator from :func:`_validator` as it came
    (Latin-1), one stored by an older version as UTF-8 (never refused: the feed would
    fail at every poll)."""
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _until(chunks: Iterator[bytes], at: float) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        if time.monotonic() > at:
            raise httpcore.ReadTimeout("total deadline exceeded while reading the body")


def _drain(response: _Response, at: float, cap: int) -> None:
    """Read ``response``'s body to its end if it is at most ``cap`` bytes (on the wire)
    and comes within :data:`_REDIRECT_DRAIN_WAIT` (and the deadline); a longer one, a
    slower one, or one that fails, is left for ``close`` (which closes its connection)."""
    length = response.headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > cap:
        return
    read = 0
    soon = min(at, time.monotonic() + _REDIRECT_DRAIN_WAIT)
    try:
        with netguard.deadline(soon):  # each read too, not only between chunks
            for chunk in _until(response.iter_raw(), soon):
                read += len(chunk)
                if read > cap:
                    return
    except TRANSPORT_ERRORS:
        return


def _ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR),
    made on the first https request: a poll of http feeds does not import httpx."""
    context: ssl.SSLContext = lazy_httpx.httpx().create_ssl_context()
    return context


def _error(
    url: str,
    kind: ErrorKind,
    message: str,
    status: int | None = None,
    *,
    headers: dict[str, str] | None = None,
    retry_after: datetime | None = None,
) -> FetchResult:
    return FetchResult(
        status="error",
        url=url,
        http_status=status,
        headers=headers or {},
        error_kind=kind,
        error=message,
        retry_after=retry_after,
    )


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    return replace(result, elapsed=round(elapsed, 4))
