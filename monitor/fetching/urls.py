"""The URL the fetcher requests: httpx's reading of it, without importing httpx for the
URLs httpx would leave as they are.

httpx's URL parser normalises (lower-cases, drops a default port, removes dot segments,
percent-encodes, IDNA-encodes) and refuses what it cannot read. A plain URL (lower-case
``http``/``https``, a lower-case ASCII host, a non-default port, a path and query of
unreserved characters, sub-delimiters, ``:``, ``@``, ``/`` and ``?`` only, no dot
segment, ``%`` or fragment) is one it reads as written, so :func:`parse` takes it apart
here. Any other URL, and every redirect's ``Location``, is read by httpx itself (imported
then), so both give the same :class:`Target` for every text; a test compares them.
An unchanged poll of plain URLs then never imports httpx (~40 ms with what it drags in).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.fetching import lazy_httpx

if TYPE_CHECKING:
    import httpx

_PLAIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9.\-]{1,253})(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?P<path>/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)(?P<query>\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?"
)
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_PLAIN = 2048


class InvalidUrlError(ValueError):
    """httpx's refusal of a URL (its message), raised as ours."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL as httpx reads it: the parts a request is built from, and its text."""

    scheme: str
    host: str
    """Lower-case; an IDNA host as Unicode (as httpx gives it)."""
    port: int | None
    """None for the scheme's default port."""
    raw_host: bytes
    raw_path: bytes
    """Path and query, the request target."""
    netloc: bytes
    """The Host header: host, and the port unless it is the default."""
    userinfo: bytes
    text: str

    @property
    def raw_scheme(self) -> bytes:
        return self.scheme.encode("ascii")

    def __str__(self) -> str:
        return self.text

    def join(self, location: str) -> Target:
        """``location`` (a redirect's) resolved against this URL, as httpx joins them."""
        httpx = lazy_httpx.httpx()
        try:
            return _of_httpx(httpx.URL(self.text).join(location))
        except httpx.InvalidURL as exc:
            raise InvalidUrlError(str(exc)) from exc


def parse(text: str) -> Target:
    """``text`` read as httpx reads it; InvalidUrlError where httpx refuses it."""
    plain = _plain(text)
    if plain is not None:
        return plain
    httpx = lazy_httpx.httpx()
    try:
        return _of_httpx(httpx.URL(text))
    except httpx.InvalidURL as exc:
        raise InvalidUrlError(str(exc)) from exc


def _plain(text: str) -> Target | None:
    """The Target of a URL httpx would read as written; None for any other."""
    if len(text) > _MAX_PLAIN:
        return None
    match = _PLAIN.fullmatch(text)
    if match is None:
        return None
    scheme, host, port_text, path, query = match.group("scheme", "host", "port", "path", "query")
    port = int(port_text) if port_text else None
    if port is not None and (port > 65535 or port == _DEFAULT_PORTS[scheme]):
        return None
    if "/./" in f"{path}/" or "/../" in f"{path}/" or "xn--" in host:
        return None  # dot segments httpx removes; an IDNA host it gives back as Unicode
    if _IPV4_STYLE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return None
    netloc = f"{host}:{port}" if port is not None else host
    target = path + (query or "")
    return Target(
        scheme=scheme,
        host=host,
        port=port,
        raw_host=host.encode("ascii"),
        raw_path=target.encode("ascii"),
        netloc=netloc.encode("ascii"),
        userinfo=b"",
        text=text,
    )


def _of_httpx(url: httpx.URL) -> Target:
    return Target(
        scheme=url.scheme,
        host=url.host,
        port=url.port,
        raw_host=url.raw_host,
        raw_path=url.raw_path,
        netloc=url.netloc,
        userinfo=url.userinfo,
        text=str(url),
    )
