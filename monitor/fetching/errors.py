"""Why a fetch failed, in words an operator can act on.

Translates the exceptions that enter from httpcore (the fetcher's) or httpx (the webhook
clients', whose transport turns httpcore's into httpx's), the socket layer, our address
guard and the body decoder into an :class:`~monitor.types.ErrorKind` (dns, connect, tls,
timeout, too_large, refused_address, truncated, protocol, network, decoding, bad_url)
and a message; recognises bot-challenge pages (Cloudflare and similar) on 403/429/503.
Exceptions that no server can cause are not classified here: they are bugs and
propagate.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Mapping

import httpcore

from monitor.fetching import content_coding, netguard
from monitor.fetching.settings import FetchSettings
from monitor.fetching.urls import InvalidUrlError
from monitor.types import ErrorKind


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


# httpcore's exceptions a server or the network can cause (what httpx's transport maps to
# its own TransportError tree).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


def _is(exc: Exception, name: str) -> bool:
    """Whether ``exc`` is httpcore's exception ``name`` or httpx's (httpx only checked
    once something imported it: an exception of it cannot exist before)."""
    if isinstance(exc, getattr(httpcore, name)):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, getattr(httpx, name))


def classify_exception(
    exc: Exception, settings: FetchSettings, *, deadline_passed: bool = False
) -> tuple[ErrorKind | None, str]:
    """(error_kind, message) for a failure a server or network can cause; (None, "")
    for anything else, which the caller re-raises."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, netguard.GuardError):
        return ErrorKind(exc.kind), text
    if isinstance(exc, content_coding.TooLargeError):
        return ErrorKind.TOO_LARGE, text
    if isinstance(exc, content_coding.DecodingError):
        return ErrorKind.DECODING, text
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in _chain(exc)):
        return ErrorKind.TLS, f"TLS failed: {text}"
    if _is(exc, "ConnectTimeout"):
        return ErrorKind.TIMEOUT, f"connect timed out (limit {settings.connect_timeout:g}s): {text}"
    if _is(exc, "TimeoutException"):
        if deadline_passed or "deadline" in text:
            return (
                ErrorKind.TIMEOUT,
                f"gave up after the {settings.total_timeout:g}s total deadline",
            )
        return ErrorKind.TIMEOUT, f"no data for {settings.read_timeout:g}s: {text}"
    if _is(exc, "RemoteProtocolError"):
        lowered = text.lower()
        if "incomplete" in lowered or "without sending complete" in lowered:
            return ErrorKind.TRUNCATED, f"body cut short: {text}"
        return ErrorKind.PROTOCOL, f"invalid HTTP from server: {text}"
    if _is(exc, "ConnectError"):
        return ErrorKind.CONNECT, f"could not connect: {text}"
    if _is(exc, "NetworkError") or isinstance(exc, ConnectionError):
        return ErrorKind.NETWORK, f"connection failed: {text}"
    if _is(exc, "ProtocolError"):
        return ErrorKind.PROTOCOL, f"invalid HTTP: {text}"
    if _is(exc, "UnsupportedProtocol") or isinstance(exc, InvalidUrlError | UnicodeError):
        return ErrorKind.BAD_URL, text
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.InvalidURL):
        return ErrorKind.BAD_URL, text
    if isinstance(exc, OSError):
        return ErrorKind.NETWORK, f"connection failed: {text}"
    return None, ""


def challenge_kind(headers: Mapping[str, str], body_start: bytes) -> str | None:
    """A message if the response is a bot-protection challenge, else None."""
    mitigated = headers.get("cf-mitigated", "").lower()
    if mitigated == "challenge":
        return "bot challenge (Cloudflare cf-mitigated: challenge)"
    server = headers.get("server", "").lower()
    sniff = body_start[:_SNIFF].lower()
    if server.startswith("cloudflare") and any(m in sniff for m in _CLOUDFLARE_MARKS):
        return "bot challenge (Cloudflare challenge page)"
    if "x-datadome" in headers or "x-dd-b" in headers:
        return "bot challenge (DataDome)"
    if server.startswith("ddos-guard"):
        return "bot challenge (DDoS-Guard)"
    if "x-sucuri-id" in headers and b"sucuri" in sniff:
        return "bot challenge (Sucuri)"
    return None


_SNIFF = 32 * 1024
_CLOUDFLARE_MARKS = (b"challenge-platform", b"cf_chl", b"just a moment", b"cf-browser-verification")
