"""A news site on 127.0.0.1 for full-text tests: a headline-only feed and its article pages.

Pages look like real ones (navigation, a cookie banner, ads, related links, comments and a
footer around the article) so that extraction has boilerplate to drop; some misbehave on
purpose: a 20 MB page, a page that never ends, a PDF, a redirect elsewhere. Written for
this project; built on :class:`tests.support.hostile_server.HostileServer` (which records
every request, so a test can count page fetches or prove a refusal made none).
"""

from __future__ import annotations

import html
import socket
from collections.abc import Callable

from tests.support.feedgen import Item, rss
from tests.support.hostile_server import HostileServer, Request, respond

Route = Callable[[socket.socket, Request, HostileServer], None]

_CHROME_TOP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Daily Courier</title>
<meta name="viewport" content="width=device-width"><link rel="stylesheet" href="/s.css">
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <a href="/privacy">
Privacy</a> <button>Accept all</button></div>
<header><a class="logo" href="/">Daily Courier</a>
<nav><ul><li><a href="/world">World</a></li><li><a href="/business">Business</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/culture">Culture</a></li>
<li><a href="/opinion">Opinion</a></li><li><a href="/summit-coverage">Summit coverage</a>
</li></ul></nav></header>
<aside class="ad">ADVERTISEMENT Cheap flights to Budapest and Anchorage! Book now and save 40%
on summer holidays. Sponsored by TravelDeals.</aside>
<main><article>
<h1>{title}</h1><p class="byline">By Staff Reporter · 3 min read</p>
"""
_CHROME_BOTTOM = """
</article>
<section class="related"><h2>Related</h2><ul>
<li><a href="/a/1">Weather: storms expected on the coast</a></li>
<li><a href="/a/2">Markets close higher on tech gains</a></li></ul></section>
<section class="comments"><h2>Comments (3)</h2>
<div class="comment"><b>reader42</b> Great piece, the Kremlin leader will never meet him!</div>
<div class="comment"><b>anon</b> Who cares about another summit in Alaska lol</div>
<div class="comment"><b>spam</b> Visit my site for free crypto</div></section>
</main>
<aside class="ad">ADVERTISEMENT Subscribe for 1 EUR a month. Cancel anytime.</aside>
<footer><p>© Daily Courier. All rights reserved.</p><a href="/imprint">Imprint</a>
<a href="/jobs">Jobs</a></footer></body></html>
"""


def article_page(title: str, *paragraphs: str) -> bytes:
    """A real-looking article page: the paragraphs inside the site's chrome."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (_CHROME_TOP.format(title=html.escape(title)) + body + _CHROME_BOTTOM).encode()


def page_route(body: bytes, content_type: str = "text/html; charset=utf-8") -> Route:
    def serve(sock: socket.socket, request: Request, server: HostileServer) -> None:
        respond(sock, 200, body, {"Content-Type": content_type})

    return serve


def redirect_route(location: str) -> Route:
    def serve(sock: socket.socket, request: Request, server: HostileServer) -> None:
        respond(sock, 302, b"", {"Location": location})

    return serve


def huge_route(size: int = 20 * 1024 * 1024) -> Route:
    """A page of ``size`` bytes that says so up front (Content-Length)."""

    def serve(sock: socket.socket, request: Request, server: HostileServer) -> None:
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {size}\r\n\r\n"
        ).encode()
        try:
            sock.sendall(head + b"<html><body><p>" + b"summit " * 1024)
            # the rest only if the client keeps reading (it should not)
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                if server.stop.is_set():
                    return
                sock.sendall(chunk)
        except OSError:
            return

    return serve


def endless_route() -> Route:
    """A page that never ends: chunked, no length, paragraphs as long as someone reads."""

    def serve(sock: socket.socket, request: Request, server: HostileServer) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        para = b"<p>Putin and Trump will meet at a summit in Budapest.</p>" * 200
        chunk = b"%x\r\n%s\r\n" % (len(para), para)
        try:
            sock.sendall(head + b"6\r\n<html>\r\n")
            while not server.stop.is_set():
                sock.sendall(chunk)
        except OSError:
            return

    return serve


class ArticleSite:
    """The site: ``/feed.xml`` lists headline-only items linking to ``/a/<slug>``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.items: list[Item] = []
        self.server = HostileServer(self._dispatch)

    def url(self, path: str) -> str:
        return self.server.url(path)

    def add(self, slug: str, headline: str, route: Route, *, summary: str = "") -> str:
        """An item whose link is ``/a/<slug>``, served by ``route``; returns the link."""
        link = self.url(f"/a/{slug}")
        self.routes[f"/a/{slug}"] = route
        self.items.append(Item(title=headline, link=link, description=summary, guid=slug))
        return link

    def page_requests(self, slug: str) -> int:
        return sum(1 for r in self.server.requests if r.path == f"/a/{slug}")

    def _dispatch(self, sock: socket.socket, request: Request, server: HostileServer) -> None:
        if request.path.split("?")[0] == "/feed.xml":
            respond(sock, 200, rss(self.items), {"Content-Type": "application/rss+xml"})
            return
        route = self.routes.get(request.path)
        if route is None:
            respond(sock, 404, b"not found", {"Content-Type": "text/plain"})
            return
        route(sock, request, server)

    def close(self) -> None:
        self.server.close()
