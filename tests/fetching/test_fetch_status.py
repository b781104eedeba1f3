"""What the fetcher makes of redirects and HTTP statuses: a result an operator can act on."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import ParseError
from monitor.fetching.client import Fetcher
from monitor.fetching.settings import FetchSettings
from monitor.parsing.feed import parse_bytes
from tests.support.hostile_server import RSS, Handler, HostileServer, Request, respond

Table = dict[str, tuple[int, dict[str, str], bytes]]
Factory = Callable[[Table], HostileServer]
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SETTINGS = FetchSettings(allow_private_networks=True, read_timeout=2.0, total_timeout=5.0)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(SETTINGS) as f:
        yield f


def routes(table: dict[str, tuple[int, dict[str, str], bytes]]) -> Handler:
    """A handler answering each path from ``table`` (404 elsewhere)."""

    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        status, headers, body = table.get(request.path, (404, {}, b"no"))
        respond(sock, status, body, headers)

    return handler


def not_modified_if(etag: str) -> Handler:
    """A handler answering 304 to a request that names ``etag``, the feed otherwise."""

    def conditional(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        if request.headers.get("if-none-match") == etag:
            respond(sock, 304, b"", {"ETag": etag})
        else:
            respond(sock, 200, RSS)

    return conditional


@pytest.fixture
def server_factory(hostile_servers: Callable[[Handler], HostileServer]) -> Factory:
    return lambda table: hostile_servers(routes(table))


@pytest.mark.parametrize(
    ("code", "permanent"), [(301, True), (302, False), (307, False), (308, True)]
)
def test_redirects_are_followed_and_permanent_ones_reported(
    fetcher: Fetcher, server_factory: Factory, code: int, permanent: bool
) -> None:
    server = server_factory({"/old": (code, {"Location": "/new"}, b""), "/new": (200, {}, RSS)})
    result = fetcher.fetch(server.url("/old"), now=NOW)
    assert result.status == "ok" and result.content == RSS
    assert result.url == server.url("/new")
    assert result.permanent_redirect == (server.url("/new") if permanent else None)


def test_a_temporary_hop_after_a_permanent_one_keeps_only_the_permanent_move(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    server = server_factory(
        {
            "/a": (301, {"Location": "/b"}, b""),
            "/b": (302, {"Location": "/c"}, b""),
            "/c": (200, {}, RSS),
        }
    )
    result = fetcher.fetch(server.url("/a"), now=NOW)
    assert result.status == "ok" and result.permanent_redirect == server.url("/b")


def test_a_permanent_move_to_a_broken_url_is_not_reported_as_a_move(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    server = server_factory({"/old": (301, {"Location": "/gone"}, b"")})
    result = fetcher.fetch(server.url("/old"), now=NOW)
    assert result.error_kind == "http_404" and result.permanent_redirect is None


def test_a_redirect_loop_stops_after_five_redirects(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    server = server_factory(
        {"/a": (302, {"Location": "/b"}, b""), "/b": (302, {"Location": "/a"}, b"")}
    )
    result = fetcher.fetch(server.url("/a"), now=NOW)
    assert result.status == "error" and result.error_kind == "too_many_redirects"
    assert len(server.requests) == 6  # the first request and five redirects followed


def test_a_redirect_to_a_non_http_scheme_is_refused(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    server = server_factory({"/a": (301, {"Location": "file:///etc/passwd"}, b"")})
    result = fetcher.fetch(server.url("/a"), now=NOW)
    assert result.error_kind == "bad_url" and "file" in (result.error or "")


def test_conditional_get_sends_back_the_validators_exactly_and_304_has_no_body(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    etag = 'W/"abc-123"'
    modified = "Wed, 14 Jan 2026 08:00:00 GMT"
    server = server_factory({"/feed": (200, {"ETag": etag, "Last-Modified": modified}, RSS)})
    first = fetcher.fetch(server.url(), now=NOW)
    assert (first.etag, first.last_modified) == (etag, modified)

    server.handler = not_modified_if(etag)
    second = fetcher.fetch(
        server.url(), etag=first.etag, last_modified=first.last_modified, now=NOW
    )
    assert second.status == "not_modified" and second.http_status == 304
    assert second.content is None
    sent = server.requests[-1].headers
    assert sent["if-none-match"] == etag and sent["if-modified-since"] == modified


@pytest.mark.parametrize(
    "etag",
    [
        '"caf\u00e9"'.encode().decode("latin-1"),  # UTF-8 bytes on the wire
        'W/"\u00e9t\u00e9"',  # Latin-1 bytes, not UTF-8
    ],
    ids=["utf-8", "latin-1"],
)
def test_a_non_ascii_validator_goes_back_byte_for_byte(
    fetcher: Fetcher, server_factory: Factory, etag: str
) -> None:
    """obs-text in an ETag is allowed (RFC 9110): sent back as it came, the poll is
    conditional; refused, the feed would fail at every poll."""
    modified = "Wed, 14 Jan 2026 08:00:00 GMT \u00e9"
    server = server_factory({"/feed": (200, {"ETag": etag, "Last-Modified": modified}, RSS)})
    first = fetcher.fetch(server.url(), now=NOW)
    assert first.status == "ok"

    # The test server reads a request head as Latin-1: these are the bytes it got.
    server.handler = not_modified_if(etag)
    second = fetcher.fetch(
        server.url(), etag=first.etag, last_modified=first.last_modified, now=NOW
    )
    assert second.status == "not_modified", second.error
    sent = server.requests[-1].headers
    assert sent["if-none-match"] == etag and sent["if-modified-since"] == modified


def test_a_validator_stored_as_utf_8_text_is_still_sent(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    """A validator stored by an older version (decoded as UTF-8, so with characters past
    Latin-1) goes out as UTF-8 instead of failing the fetch."""
    server = server_factory({"/feed": (200, {}, RSS)})
    result = fetcher.fetch(server.url(), etag='"\u20ac1"', now=NOW)
    assert result.status == "ok", result.error
    assert server.requests[-1].headers["if-none-match"] == '"\u20ac1"'.encode().decode("latin-1")


def test_validators_are_only_taken_from_successful_responses(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    server = server_factory({"/feed": (500, {"ETag": '"err"', "Last-Modified": "x"}, b"oops")})
    result = fetcher.fetch(server.url(), now=NOW)
    assert result.error_kind == "http_500"
    assert result.etag is None and result.last_modified is None


def test_410_gone(fetcher: Fetcher, server_factory: Factory) -> None:
    result = fetcher.fetch(server_factory({"/feed": (410, {}, b"")}).url(), now=NOW)
    assert result.status == "error" and result.error_kind == "gone" and result.http_status == 410


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("Thu, 15 Jan 2026 13:30:00 GMT", NOW + timedelta(minutes=90)),
        ("soon, please", None),
        ("-5", None),
        ("999999999", NOW + timedelta(hours=24)),
        ("Fri, 15 Jan 2027 13:30:00 GMT", NOW + timedelta(hours=24)),
    ],
)
def test_429_is_rate_limited_with_retry_after_in_every_form(
    fetcher: Fetcher, server_factory: Factory, value: str, expected: datetime | None
) -> None:
    server = server_factory({"/feed": (429, {"Retry-After": value}, b"slow down")})
    result = fetcher.fetch(server.url(), now=NOW)
    assert result.status == "error" and result.error_kind == "rate_limited"
    assert result.retry_after == expected


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_is_an_error_named_by_its_code(
    fetcher: Fetcher, server_factory: Factory, code: int
) -> None:
    result = fetcher.fetch(server_factory({"/feed": (code, {}, b"down")}).url(), now=NOW)
    assert result.status == "error" and result.error_kind == f"http_{code}"
    assert result.http_status == code and str(code) in (result.error or "")


def test_503_carries_its_retry_after(fetcher: Fetcher, server_factory: Factory) -> None:
    server = server_factory({"/feed": (503, {"Retry-After": "600"}, b"maintenance")})
    result = fetcher.fetch(server.url(), now=NOW)
    assert result.error_kind == "http_503"
    assert result.retry_after == NOW + timedelta(minutes=10)


def test_404_is_an_error_named_by_its_code(fetcher: Fetcher, server_factory: Factory) -> None:
    result = fetcher.fetch(server_factory({}).url("/missing"), now=NOW)
    assert result.error_kind == "http_404"


def test_cloudflare_challenge_is_a_bot_challenge(fetcher: Fetcher, server_factory: Factory) -> None:
    page = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"
    server = server_factory(
        {
            "/header": (403, {"cf-mitigated": "challenge", "Server": "cloudflare"}, page),
            "/page": (403, {"Server": "cloudflare"}, page),
            "/plain": (403, {"Server": "nginx"}, b"Forbidden"),
        }
    )
    assert fetcher.fetch(server.url("/header"), now=NOW).error_kind == "bot_challenge"
    assert fetcher.fetch(server.url("/page"), now=NOW).error_kind == "bot_challenge"
    assert fetcher.fetch(server.url("/plain"), now=NOW).error_kind == "http_403"


def test_an_html_page_instead_of_a_feed_is_not_a_feed(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>Hi</body></html>"
    server = server_factory({"/feed": (200, {"Content-Type": "text/html"}, page)})
    result = fetcher.fetch(server.url(), now=NOW)
    assert result.status == "ok"  # the bytes arrived; whether they are a feed is the parser's call
    with pytest.raises(ParseError) as caught:
        parse_bytes(result.content or b"", url=result.url, headers=result.headers)
    assert caught.value.kind == "not_a_feed"


def test_cache_control_max_age_is_reported_as_a_hint(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    server = server_factory({"/feed": (200, {"Cache-Control": "public, max-age=1800"}, RSS)})
    result = fetcher.fetch(server.url(), now=NOW)
    assert result.retry_after == NOW + timedelta(minutes=30)


def test_expires_is_read_against_the_servers_own_clock(
    fetcher: Fetcher, server_factory: Factory
) -> None:
    headers = {"Date": "Mon, 01 Jan 2024 00:00:00 GMT", "Expires": "Mon, 01 Jan 2024 01:00:00 GMT"}
    result = fetcher.fetch(server_factory({"/feed": (200, headers, RSS)}).url(), now=NOW)
    assert result.retry_after == NOW + timedelta(hours=1)
