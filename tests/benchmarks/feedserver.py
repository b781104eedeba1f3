"""A fast feed server for the polling benchmark: N generated RSS feeds on 127.0.0.1.

Runs as its own process (``python tests/benchmarks/feedserver.py N [HOSTS]``, prints its
port on the first line of stdout; with HOSTS, it listens on that port of 127.0.0.1 …
127.0.0.HOSTS) so serving never competes for the measured process's GIL.
Feed ``i`` lives at ``/feed/i.xml``, has 20–50 items of news-like text in English,
German or Russian, and answers conditional requests: feeds with ``i % 10 == 9`` send no
validators, the others an ETag, a Last-Modified or both. Control paths, not counted:
``/_advance`` (every even feed gets three new items and new validators), ``/_stats``
(JSON: responses by status since the last ``/_reset``, and how many requests to feeds
that gave validators came without them), ``/_reset``.

It is a benchmark fixture only: no monitor code is imported here.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


def _words(text: str) -> list[str]:
    return text.split()


WORDS = {
    "en": _words(
        "government minister officials said on Tuesday talks agreement "
        "economy market prices rose fell percent report election "
        "parliament vote opposition leader country city police court "
        "ruling investigation company shares investors bank interest "
        "rates inflation energy gas oil supply border security military "
        "forces attack ceasefire negotiations president spokesman "
        "statement week month year plans budget tax reform health "
        "hospital workers strike union schools students climate weather "
        "storm flood farmers exports imports trade tariffs sanctions "
        "summit delegation visit capital"
    ),
    "de": _words(
        "Regierung Minister sagte am Dienstag Gespräche Einigung "
        "Wirtschaft Markt Preise stiegen fielen Prozent Bericht Wahl "
        "Bundestag Abstimmung Opposition Land Stadt Polizei Gericht "
        "Urteil Ermittlungen Unternehmen Aktien Anleger Bank Zinsen "
        "Inflation Energie Gas Öl Versorgung Grenze Sicherheit Bundeswehr "
        "Angriff Waffenruhe Verhandlungen Kanzler Sprecher Erklärung "
        "Woche Monat Jahr Pläne Haushalt Steuer Reform Gesundheit Klinik "
        "Beschäftigte Streik Gewerkschaft Schulen Klima Wetter"
    ),
    "ru": _words(
        "правительство министр заявил во вторник переговоры соглашение "
        "экономика рынок цены выросли снизились процентов доклад выборы "
        "парламент голосование оппозиция страна город полиция суд решение "
        "расследование компания акции инвесторы банк ставки инфляция "
        "энергетика газ нефть поставки граница безопасность армия удар "
        "перемирие президент представитель заявление неделя месяц год "
        "планы бюджет налог реформа здоровье больница работники "
        "забастовка профсоюз школы климат погода урожай экспорт"
    ),
}
HEADLINES = {
    "en": "Trump and Putin to meet for summit in Anchorage, Kremlin says",
    "de": "Trump und Putin treffen sich zum Gipfel in Anchorage",
    "ru": "Трамп и Путин проведут саммит на Аляске",
}
NEW_PER_ADVANCE = 3


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    text = " ".join(rng.choice(words) for _ in range(n))
    return text[0].upper() + text[1:] + "."


class Feed:
    def __init__(self, index: int, start: datetime) -> None:
        self.index = index
        self.rng = random.Random(index)
        self.language = "en" if index % 10 < 7 else ("de" if index % 10 < 9 else "ru")
        self.start = start
        self.count = self.rng.randint(20, 50)
        self.serial = 0
        self.items: list[bytes] = [self._item() for _ in range(self.count)]
        self.generation = 0
        self.body = b""
        self._render()

    @property
    def etag(self) -> str | None:
        return (
            None
            if self.index % 10 == 9 or self.index % 3 == 1
            else f'"f{self.index}-g{self.generation}"'
        )

    @property
    def modified(self) -> datetime | None:
        if self.index % 10 == 9 or self.index % 3 == 0:
            return None
        return self.start + timedelta(minutes=self.generation)

    def _item(self) -> bytes:
        rng, words = self.rng, WORDS[self.language]
        self.serial += 1
        when = self.start - timedelta(minutes=5 * (self.count - self.serial))
        if rng.random() < 0.02:
            title = HEADLINES[self.language]
        else:
            title = sentence(rng, words, rng.randint(6, 12))[:-1]
        paras = "".join(
            f"&lt;p&gt;{escape(sentence(rng, words, rng.randint(12, 24)))}&lt;/p&gt;"
            for _ in range(rng.randint(2, 5))
        )
        link = (
            f"https://news{self.index % 97}.example.com/{self.language}/{self.index}/"
            f"{self.serial}?utm_source=rss"
        )
        return (
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">feed-{self.index}-item-{self.serial}</guid>'
            f"<description>{paras}</description>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
        ).encode()

    def advance(self) -> None:
        for _ in range(NEW_PER_ADVANCE):
            self.items.insert(0, self._item())
        del self.items[self.count :]
        self.generation += 1
        self._render()

    def _render(self) -> None:
        head = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Benchmark feed {self.index}</title>"
            f"<link>https://news{self.index % 97}.example.com/</link>"
            f"<description>generated</description><language>{self.language}</language>"
        ).encode()
        self.body = head + b"\n".join(self.items) + b"</channel></rss>"

    def not_modified(self, headers: dict[str, str]) -> bool:
        if "if-none-match" in headers:
            return self.etag is not None and headers["if-none-match"] == self.etag
        since, modified = headers.get("if-modified-since"), self.modified
        if since and modified is not None:
            try:
                return parsedate_to_datetime(since) >= modified.replace(microsecond=0)
            except (TypeError, ValueError):
                return False
        return False


class State:
    def __init__(self, n: int) -> None:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.feeds = [Feed(i, start) for i in range(n)]
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.validated = 0
        """Requests to feeds that give validators which carried a conditional header."""
        self.unvalidated = 0
        """Requests to feeds that give validators which carried none."""

    def reset(self) -> None:
        with self.lock:
            self.statuses.clear()
            self.validated = self.unvalidated = 0


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every response.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path
            if path.startswith("/_"):
                self._control(path)
                return
            try:
                index = int(path.removeprefix("/feed/").removesuffix(".xml"))
                feed = state.feeds[index]
            except (ValueError, IndexError):
                self._send(404, b"not found", {})
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            conditional = "if-none-match" in headers or "if-modified-since" in headers
            validators: dict[str, str] = {}
            if feed.etag:
                validators["ETag"] = feed.etag
            if feed.modified:
                validators["Last-Modified"] = format_datetime(feed.modified, usegmt=True)
            status = 304 if feed.not_modified(headers) else 200
            with state.lock:
                state.statuses[status] += 1
                if validators and conditional:
                    state.validated += 1
                elif validators:
                    state.unvalidated += 1
            if status == 304:
                self._send(304, b"", validators)
            else:
                self._send(200, feed.body, {**validators, "Content-Type": "application/rss+xml"})

        def _control(self, path: str) -> None:
            if path == "/_advance":
                for feed in state.feeds[::2]:
                    feed.advance()
            elif path == "/_reset":
                state.reset()
            with state.lock:
                stats = {
                    "statuses": {str(k): v for k, v in sorted(state.statuses.items())},
                    "validated": state.validated,
                    "unvalidated": state.unvalidated,
                    "feeds_with_validators": sum(1 for f in state.feeds if f.etag or f.modified),
                }
            self._send(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


def main() -> None:
    state = State(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    handler = make_handler(state)
    servers = []
    port = 0
    # Host k (0-based) is 127.0.0.(k+1): the same port on each loopback address, so a
    # client sees ``hosts`` distinct hosts (its per-host limits apply to each).
    for k in range(hosts):
        server = ThreadingHTTPServer((f"127.0.0.{k + 1}", port), handler)
        server.daemon_threads = True
        server.request_queue_size = 256
        port = server.server_address[1]
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(port, flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
